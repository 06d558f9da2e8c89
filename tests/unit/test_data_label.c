/*  tests/unit/test_data_label.c: data.label on a real pool. Labelling
    functions of every kind (keywords, regex, comparisons) vote on a small
    table; the exact data.csv, review.csv and report.json they must give
    (fractions as Python prints k/7), ties either way, bad params, rejects
    and the edges: empty input, invalid UTF-8, a huge field, all abstain.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "datatest.h"

static const char *s_table = "id,text,amount\n"
                             "1,I want a refund now,250\n"
                             "2,great product,20\n"
                             "3,refund please,50\n"
                             "4,I LOVE it - great,500\n"
                             "5,meh,\n"
                             "6,great refund,20\n"
                             "7,Broken,10\n";

#define FUNCTIONS                                                                                  \
    "\"functions\": [{\"name\": \"refund_kw\", \"label\": \"complaint\", \"keyword\": "            \
    "[\"refund\", \"broken\"], \"column\": \"text\"}, {\"name\": \"great_re\", \"label\": "        \
    "\"praise\", \"regex\": \"great|love\", \"column\": \"text\"}, {\"name\": \"big_amount\", "    \
    "\"label\": \"complaint\", \"column\": \"amount\", \"gt\": 100}, {\"name\": \"love_kw\", "     \
    "\"label\": \"praise\", \"keyword\": \"LOVE\", \"column\": \"text\", \"case\": false}]"

static fed_report_t *
s_run (dt_env_t *env, const char *params)
{
    fed_report_t *report = dt_run (env, "data.label", params);
    assert_non_null (report);
    return report;
}

static void
s_expect_failed (fed_report_t *report, const char *code, const char *part)
{
    dt_expect_failed (report, code, part);
    fed_report_destroy (&report);
}

static void
test_majority_vote (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_table);
    fed_report_t *report =
        s_run (&env,
               "{\"input\": \"in.csv\", \"labels\": [\"complaint\", \"praise\", \"other\"], "
               "\"min_confidence\": 0.6, " FUNCTIONS "}");
    dt_expect_completed (report);
    //  Row 4: praise 2 of 3 votes; row 5: nobody votes; row 6: a tie,
    //  abstained by default.
    dt_expect_file (&env, "data.csv",
                    "id,text,amount,label,label_confidence,label_votes\n"
                    "1,I want a refund now,250,complaint,1,refund_kw big_amount\n"
                    "2,great product,20,praise,1,great_re\n"
                    "3,refund please,50,complaint,1,refund_kw\n"
                    "4,I LOVE it - great,500,praise,0.667,great_re big_amount love_kw\n"
                    "5,meh,,,0,\n"
                    "6,great refund,20,,0,refund_kw great_re\n"
                    "7,Broken,10,complaint,1,refund_kw\n");
    dt_expect_file (&env, "review.csv",
                    "row,id,text,amount,label,label_confidence,votes\n"
                    "5,5,meh,,,0,\n"
                    "6,6,great refund,20,,0,refund_kw=complaint great_re=praise\n");
    dt_expect_file (&env, "report.json",
                    "{\n"
                    "  \"rows\": 7,\n"
                    "  \"counts\": {\n"
                    "    \"complaint\": 3,\n"
                    "    \"praise\": 2,\n"
                    "    \"other\": 0,\n"
                    "    \"abstain\": 2\n"
                    "  },\n"
                    "  \"fractions\": {\n"
                    "    \"complaint\": 0.42857142857142855,\n"
                    "    \"praise\": 0.2857142857142857,\n"
                    "    \"other\": 0.0,\n"
                    "    \"abstain\": 0.2857142857142857\n"
                    "  },\n"
                    "  \"imbalance_ratio\": 1.5,\n"
                    "  \"coverage\": 0.7142857142857143,\n"
                    "  \"low_confidence\": 2,\n"
                    "  \"min_confidence\": 0.6,\n"
                    "  \"tie\": \"abstain\",\n"
                    "  \"labels\": [\n"
                    "    \"complaint\",\n"
                    "    \"praise\",\n"
                    "    \"other\"\n"
                    "  ],\n"
                    "  \"functions\": [\n"
                    "    {\n"
                    "      \"name\": \"refund_kw\",\n"
                    "      \"label\": \"complaint\",\n"
                    "      \"votes\": 4,\n"
                    "      \"coverage\": 0.5714285714285714,\n"
                    "      \"overlaps\": 0.2857142857142857,\n"
                    "      \"conflicts\": 0.14285714285714285\n"
                    "    },\n"
                    "    {\n"
                    "      \"name\": \"great_re\",\n"
                    "      \"label\": \"praise\",\n"
                    "      \"votes\": 3,\n"
                    "      \"coverage\": 0.42857142857142855,\n"
                    "      \"overlaps\": 0.2857142857142857,\n"
                    "      \"conflicts\": 0.2857142857142857\n"
                    "    },\n"
                    "    {\n"
                    "      \"name\": \"big_amount\",\n"
                    "      \"label\": \"complaint\",\n"
                    "      \"votes\": 2,\n"
                    "      \"coverage\": 0.2857142857142857,\n"
                    "      \"overlaps\": 0.2857142857142857,\n"
                    "      \"conflicts\": 0.14285714285714285\n"
                    "    },\n"
                    "    {\n"
                    "      \"name\": \"love_kw\",\n"
                    "      \"label\": \"praise\",\n"
                    "      \"votes\": 1,\n"
                    "      \"coverage\": 0.14285714285714285,\n"
                    "      \"overlaps\": 0.14285714285714285,\n"
                    "      \"conflicts\": 0.14285714285714285\n"
                    "    }\n"
                    "  ]\n"
                    "}\n");
    dt_expect_output (report, "\"review\":{\"path\":\"");
    dt_expect_output (report, "\"rows\":2,");
    dt_expect_output (report,
                      "\"distribution\":{\"complaint\":3,\"praise\":2,\"other\":0,"
                      "\"abstain\":2},\"imbalance_ratio\":1.5,\"coverage\":"
                      "0.7142857142857143,\"low_confidence\":2,\"columns\":[\"id\",\"text\","
                      "\"amount\",\"label\",\"label_confidence\",\"label_votes\"]");
    dt_expect_output (report, "\"params\":{\"input\":\"in.csv\"");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_tie_first (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_table);
    //  tie: first takes the first voting function's label (row 6: refund_kw,
    //  complaint, 1 of 2 = 0.5, under min_confidence so still reviewed).
    //  Undeclared labels are taken in the order the functions name them.
    fed_report_t *report = s_run (&env,
                                  "{\"input\": \"in.csv\", \"tie\": \"first\", \"column\": "
                                  "\"y\", \"min_confidence\": 0.7, " FUNCTIONS "}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "id,text,amount,y,y_confidence,y_votes\n"
                    "1,I want a refund now,250,complaint,1,refund_kw big_amount\n"
                    "2,great product,20,praise,1,great_re\n"
                    "3,refund please,50,complaint,1,refund_kw\n"
                    "4,I LOVE it - great,500,praise,0.667,great_re big_amount love_kw\n"
                    "5,meh,,,0,\n"
                    "6,great refund,20,complaint,0.5,refund_kw great_re\n"
                    "7,Broken,10,complaint,1,refund_kw\n");
    dt_expect_file (&env, "review.csv",
                    "row,id,text,amount,y,y_confidence,votes\n"
                    "4,4,I LOVE it - great,500,praise,0.667,great_re=praise big_amount=complaint "
                    "love_kw=praise\n"
                    "5,5,meh,,,0,\n"
                    "6,6,great refund,20,complaint,0.5,refund_kw=complaint great_re=praise\n");
    dt_expect_output (report,
                      "\"distribution\":{\"complaint\":4,\"praise\":2,\"abstain\":1},"
                      "\"imbalance_ratio\":2.0,\"coverage\":0.8571428571428571,"
                      "\"low_confidence\":3");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_comparisons (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    //  Non-numbers and empty cells abstain; eq compares the numbers.
    dt_write (&env, "in.csv", "v\n5\n5.0\nx\n\"\"\n7\n-1e1\n");
    fed_report_t *report = s_run (
        &env,
        "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"eq5\", \"label\": \"five\", "
        "\"column\": \"v\", \"eq\": 5}, {\"name\": \"ge7\", \"label\": \"big\", \"column\": "
        "\"v\", \"ge\": 7}, {\"name\": \"lt0\", \"label\": \"neg\", \"column\": \"v\", \"lt\": "
        "0}, {\"name\": \"le-10\", \"label\": \"neg\", \"column\": \"v\", \"le\": -10}]}");
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "v,label,label_confidence,label_votes\n5,five,1,eq5\n5.0,five,1,eq5\nx,,0,\n"
                    ",,0,\n7,big,1,ge7\n-1e1,neg,1,lt0 le-10\n");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

static void
test_bad_params (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    dt_write (&env, "in.csv", s_table);
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"r\", "
                            "\"label\": \"a\", \"regex\": \"(x\", \"column\": \"text\"}]}"),
                     "bad_params", "param \"functions\": item 0: regex '(x' does not compile: ");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"r\", "
                            "\"label\": \"a\", \"keyword\": \"x\", \"column\": \"txt\"}]}"),
                     "bad_params",
                     "param \"functions\": item 0: no column 'txt' in the input; did you mean "
                     "'text'?");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"labels\": [\"spam\", \"ham\"], "
                            "\"functions\": [{\"name\": \"r\", \"label\": \"spma\", "
                            "\"keyword\": \"x\", \"column\": \"text\"}]}"),
                     "bad_params",
                     "param \"functions\": item 0: label 'spma' is not in param \"labels\"; did "
                     "you mean 'spam'?");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"r\", "
                            "\"label\": \"a\", \"column\": \"text\"}]}"),
                     "bad_params", "needs exactly one of \"keyword\", \"regex\", gt/ge/lt/le/eq");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"r\", "
                            "\"label\": \"a\", \"keyword\": \"x\", \"column\": \"text\", "
                            "\"cas\": true}]}"),
                     "bad_params", "unknown key 'cas'; did you mean 'case'?");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"r\", "
                            "\"label\": \"a\", \"keyword\": \"x\", \"column\": \"text\"}, "
                            "{\"name\": \"r\", \"label\": \"b\", \"gt\": 1, \"column\": "
                            "\"amount\"}]}"),
                     "bad_params", "item 1: name 'r' is used twice");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"r\", "
                            "\"label\": \"abstain\", \"keyword\": \"x\", \"column\": "
                            "\"text\"}]}"),
                     "bad_params", "reserved");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"tie\": \"random\", \"functions\": "
                            "[{\"name\": \"r\", \"label\": \"a\", \"keyword\": \"x\", "
                            "\"column\": \"text\"}]}"),
                     "bad_params", "param \"tie\" must be abstain or first");
    s_expect_failed (s_run (&env, "{\"input\": \"in.csv\", \"functoins\": []}"), "bad_params",
                     "unknown param \"functoins\"");
    s_expect_failed (s_run (&env, "{\"input\": \"in.csv\"}"), "bad_params",
                     "param \"functions\" is required");
    s_expect_failed (s_run (&env,
                            "{\"input\": \"in.csv\", \"column\": \"text\", \"functions\": "
                            "[{\"name\": \"r\", \"label\": \"a\", \"keyword\": \"x\", "
                            "\"column\": \"text\"}]}"),
                     "bad_params", "param \"column\": 'text' is already a column");
    dt_teardown (&env);
}

static void
test_edges (void **state)
{
    (void) state;
    dt_env_t env;
    dt_setup (&env);
    const char *params = "{\"input\": \"in.csv\", \"functions\": [{\"name\": \"kw\", \"label\": "
                         "\"hit\", \"keyword\": \"needle\", \"column\": \"text\"}]}";
    //  Empty input: empty files, an empty distribution.
    dt_write (&env, "in.csv", "");
    fed_report_t *report = s_run (&env, params);
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv", "");
    dt_expect_file (&env, "review.csv", "");
    dt_expect_output (report,
                      "\"distribution\":{\"abstain\":0},\"imbalance_ratio\":0.0,"
                      "\"coverage\":0.0,\"low_confidence\":0");
    fed_report_destroy (&report);
    //  Malformed rows and invalid UTF-8 go to rejects.csv; the rest are
    //  labelled. Nothing votes: everything abstains and is reviewed.
    dt_write (&env, "in.csv", "text,n\nplain,1\n\"bad\"x,2\nnot \xc3\x28 utf8,3\nalso plain,4\n");
    report = s_run (&env, params);
    dt_expect_completed (report);
    dt_expect_file (&env, "data.csv",
                    "text,n,label,label_confidence,label_votes\nplain,1,,0,\n"
                    "also plain,4,,0,\n");
    char *rejects = dt_read (&env, "rejects.csv");
    assert_non_null (
        strstr (rejects, "\n3,15,line 3 (byte 15): text after a closing quote at byte 20,"));
    assert_non_null (strstr (rejects, "\n4,24,line 4 (byte 24): invalid UTF-8 at byte 28"));
    free (rejects);
    dt_expect_output (report,
                      "\"distribution\":{\"hit\":0,\"abstain\":2},\"imbalance_ratio\":0.0,"
                      "\"coverage\":0.0,\"low_confidence\":2");
    fed_report_destroy (&report);
    //  A huge field with the keyword at its very end.
    size_t size = 700000;
    char *big = (char *) malloc (size + 64);
    strcpy (big, "text\n");
    memset (big + 5, 'a', size);
    strcpy (big + 5 + size, " needle\nb\n");
    dt_write (&env, "in.csv", big);
    free (big);
    report = s_run (&env, params);
    dt_expect_completed (report);
    dt_expect_output (report,
                      "\"distribution\":{\"hit\":1,\"abstain\":1},\"imbalance_ratio\":1.0,"
                      "\"coverage\":0.5,\"low_confidence\":1");
    fed_report_destroy (&report);
    dt_teardown (&env);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_majority_vote), cmocka_unit_test (test_tie_first),
        cmocka_unit_test (test_comparisons),   cmocka_unit_test (test_bad_params),
        cmocka_unit_test (test_edges),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
