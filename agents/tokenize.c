/*  agents/tokenize.c: whitespace and regex tokenizers with n-grams
    (tokenize.h). Tokens are collected as (start, length) spans over one
    buffer holding the text (lowercased if asked, whitespace inside regex
    matches replaced), then written out joined.
*/
#include "tokenize.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct fed_tokenizer_t {
    fed_tokenize_options_t options; //  as given; pattern not used after new
    bool compiled;                  //  regex holds a compiled pattern
    regex_t regex;                  //  regex mode
    char *text;                     //  the field's working copy
    size_t text_cap;                //  bytes allocated for text
    size_t *spans;                  //  token i: start spans [2i], length spans [2i+1]
    size_t span_cap;                //  tokens spans can hold
    size_t span_count;              //  tokens found
    char *out;                      //  the joined result
    size_t out_cap;                 //  bytes allocated for out
};

fed_tokenizer_t *
fed_tokenizer_new (const fed_tokenize_options_t *options, fed_err_t *err)
{
    if (options->ngram_min < 1 || options->ngram_min > options->ngram_max
        || options->ngram_max > FED_TOKENIZE_NGRAM_MAX) {
        fed_err_set (err, 0, "ngrams must be [min, max] with 1 <= min <= max <= %d",
                     FED_TOKENIZE_NGRAM_MAX);
        return NULL;
    }
    fed_tokenizer_t *self = (fed_tokenizer_t *) fed_calloc (1, sizeof *self);
    self->options = *options;
    self->options.pattern = NULL;
    if (options->mode == FED_TOKENIZE_REGEX) {
        const char *pattern = options->pattern ? options->pattern : "";
        int rc = regcomp (&self->regex, pattern, REG_EXTENDED);
        if (rc) {
            char why [256];
            regerror (rc, &self->regex, why, sizeof why);
            fed_err_set (err, 0, "pattern '%.200s' does not compile: %s", pattern, why);
            free (self);
            return NULL;
        }
        self->compiled = true;
    }
    return self;
}

void
fed_tokenizer_destroy (fed_tokenizer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fed_tokenizer_t *self = *self_p;
    if (self->compiled)
        regfree (&self->regex);
    free (self->text);
    free (self->spans);
    free (self->out);
    free (self);
    *self_p = NULL;
}

static bool
s_space (char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static void
s_span_add (fed_tokenizer_t *self, size_t start, size_t len)
{
    if (self->span_count == self->span_cap) {
        self->span_cap = self->span_cap ? self->span_cap * 2 : 64;
        self->spans = (size_t *) fed_realloc (self->spans, self->span_cap * 2 * sizeof (size_t));
    }
    self->spans [2 * self->span_count] = start;
    self->spans [2 * self->span_count + 1] = len;
    self->span_count++;
}

//  Length of the UTF-8 character at p (1 for a stray byte), so an empty
//  match steps over whole characters.
static size_t
s_char_len (const unsigned char *p)
{
    if (*p < 0xc0)
        return 1;
    size_t n = *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if ((p [i] & 0xc0) != 0x80)
            return 1;
    return n;
}

static void
s_split_whitespace (fed_tokenizer_t *self, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && s_space (self->text [i]))
            i++;
        size_t start = i;
        while (i < len && !s_space (self->text [i]))
            i++;
        if (i > start)
            s_span_add (self, start, i - start);
    }
}

static void
s_split_regex (fed_tokenizer_t *self)
{
    size_t at = 0;
    size_t end = strlen (self->text); //  regexec stops at the first NUL
    while (at < end) {
        regmatch_t match;
        if (regexec (&self->regex, self->text + at, 1, &match, at ? REG_NOTBOL : 0))
            break;
        size_t start = at + (size_t) match.rm_so;
        size_t stop = at + (size_t) match.rm_eo;
        if (stop == start) {
            //  An empty match: step one character past it and go on.
            at =
                start < end ? start + s_char_len ((const unsigned char *) self->text + start) : end;
            continue;
        }
        for (size_t i = start; i < stop; i++)
            if (s_space (self->text [i]))
                self->text [i] = '_';
        s_span_add (self, start, stop - start);
        at = stop;
    }
}

static void
s_out_reserve (fed_tokenizer_t *self, size_t need)
{
    if (need <= self->out_cap)
        return;
    size_t cap = self->out_cap ? self->out_cap : 256;
    while (cap < need)
        cap *= 2;
    self->out = (char *) fed_realloc (self->out, cap);
    self->out_cap = cap;
}

const char *
fed_tokenizer_run (fed_tokenizer_t *self, const char *text, size_t len, size_t *size, size_t *count)
{
    if (len + 1 > self->text_cap) {
        self->text_cap = len + 1 > 256 ? len + 1 : 256;
        free (self->text);
        self->text = (char *) fed_malloc (self->text_cap);
    }
    memcpy (self->text, text, len);
    self->text [len] = '\0';
    if (self->options.lowercase)
        for (size_t i = 0; i < len; i++)
            if (self->text [i] >= 'A' && self->text [i] <= 'Z')
                self->text [i] = (char) (self->text [i] - 'A' + 'a');
    self->span_count = 0;
    if (self->options.mode == FED_TOKENIZE_REGEX)
        s_split_regex (self);
    else
        s_split_whitespace (self, len);
    //  Every n-gram is at most n tokens plus n - 1 joins; the total is
    //  bounded by (max - min + 1) * (token bytes + one per token) + 1.
    size_t bytes = 0;
    for (size_t i = 0; i < self->span_count; i++)
        bytes += self->spans [2 * i + 1] + 1;
    s_out_reserve (self,
                   (self->options.ngram_max - self->options.ngram_min + 1) * self->options.ngram_max
                           * bytes
                       + 1);
    size_t n = 0, tokens = 0;
    for (unsigned gram = self->options.ngram_min; gram <= self->options.ngram_max; gram++) {
        for (size_t i = 0; i + gram <= self->span_count; i++) {
            if (tokens++)
                self->out [n++] = ' ';
            for (size_t k = 0; k < gram; k++) {
                if (k)
                    self->out [n++] = '_';
                memcpy (self->out + n, self->text + self->spans [2 * (i + k)],
                        self->spans [2 * (i + k) + 1]);
                n += self->spans [2 * (i + k) + 1];
            }
        }
    }
    s_out_reserve (self, n + 1);
    self->out [n] = '\0';
    *size = n;
    *count = tokens;
    return self->out;
}

uint32_t
fed_fnv1a32 (const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *) data;
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        hash ^= p [i];
        hash *= 16777619u;
    }
    return hash;
}
