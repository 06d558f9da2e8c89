/*  agents/tokenize.h: the tokenizer data.transform runs over a text column.

    A tokenizer turns one field into a list of tokens and writes them as
    one string, the tokens joined by single spaces, so a token never holds
    a space: the vocabulary, the vectorizers and any later step split that
    string on spaces and get the tokens back.

      - whitespace mode: tokens are the runs of bytes between ASCII
        whitespace (space, tab, CR, LF, VT, FF).
      - regex mode: tokens are the successive non-overlapping matches of a
        POSIX extended regular expression (regcomp REG_EXTENDED), scanned
        left to right; empty matches are skipped; whitespace inside a match
        becomes '_'. The pattern sees the bytes up to the first NUL.
      - lowercase folds ASCII A-Z before tokenizing (other bytes are left
        as they are, so UTF-8 stays valid).
      - n-grams [min, max]: for n from min to max, every run of n
        consecutive tokens joined with '_', the 1-grams first, as
        scikit-learn's CountVectorizer orders them.

    A tokenizer keeps its buffers between calls (one per task, one thread).
*/
#ifndef FED_TOKENIZE_H_INCLUDED
#define FED_TOKENIZE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fed_tokenizer_t fed_tokenizer_t;

typedef enum { FED_TOKENIZE_WHITESPACE = 0, FED_TOKENIZE_REGEX } fed_tokenize_mode_t;

//  The largest n of an n-gram.
#define FED_TOKENIZE_NGRAM_MAX 8

typedef struct {
    fed_tokenize_mode_t mode; //  whitespace or regex
    const char *pattern;      //  regex mode: the expression (copied); else ignored
    bool lowercase;           //  fold ASCII A-Z to a-z first
    unsigned ngram_min;       //  1 <= ngram_min <= ngram_max <= FED_TOKENIZE_NGRAM_MAX
    unsigned ngram_max;
} fed_tokenize_options_t;

//  Creates a tokenizer. Returns NULL with err filled when the n-gram range
//  is invalid or the pattern does not compile (err->text holds regerror's
//  text). Caller owns the tokenizer.
fed_tokenizer_t *fed_tokenizer_new (const fed_tokenize_options_t *options, fed_err_t *err);

//  Destroys the tokenizer. Accepts NULL; sets *self_p to NULL.
void fed_tokenizer_destroy (fed_tokenizer_t **self_p);

//  Tokenizes len bytes at text (text [len] must be NUL). Returns the tokens
//  joined by single spaces, NUL-terminated ("" for none), owned by the
//  tokenizer until its next call; sets *size to its length and *count to
//  the number of tokens (n-grams included). Never fails.
const char *fed_tokenizer_run (fed_tokenizer_t *self, const char *text, size_t len, size_t *size,
                               size_t *count);

//  32-bit FNV-1a of len bytes (offset basis 2166136261, prime 16777619):
//  the hash of data.transform's hashing vectorizer.
uint32_t fed_fnv1a32 (const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
