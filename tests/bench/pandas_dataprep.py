"""tests/bench/pandas_dataprep.py: the pandas baseline of bench_dataprep.

The same preparation data.clean does in the bench, the way a pandas user
would write it: read the CSV, strip the text, drop rows whose text is a
duplicate once case and whitespace are folded (keeping the first), fill the
number's empties with its median and clip it to its 1% and 99% quantiles
(both computed on the values as read, as data.clean does), write the CSV.
With --split it also splits the rows 80/10/10 by a seeded hash of the row
(the data.split step) and writes train/validation/test CSVs.

usage: pandas_dataprep.py INPUT.csv OUTDIR [--split]
"""
import sys

import numpy as np
import pandas as pd


def main():
    source, outdir = sys.argv[1], sys.argv[2]
    split = "--split" in sys.argv[3:]
    df = pd.read_csv(source, keep_default_na=False, na_values={"num": [""]},
                     dtype={"id": "int64", "text": str, "cat": str})
    df["text"] = df["text"].str.strip()
    key = df["text"].str.lower().str.replace(r"\s+", " ", regex=True)
    median = df["num"].median()
    lower, upper = df["num"].quantile(0.01), df["num"].quantile(0.99)
    df = df[~key.duplicated(keep="first")]
    df["num"] = df["num"].fillna(median).clip(lower, upper)
    if not split:
        df.to_csv(outdir + "/data.csv", index=False)
        return
    digest = pd.util.hash_pandas_object(df, index=False, hash_key="0123456789abcdef")
    bucket = (digest.to_numpy() % np.uint64(1000)).astype(np.int64)
    parts = {"train": bucket < 800, "validation": (bucket >= 800) & (bucket < 900),
             "test": bucket >= 900}
    for name, mask in parts.items():
        df[mask].to_csv(f"{outdir}/{name}.csv", index=False)


if __name__ == "__main__":
    main()
