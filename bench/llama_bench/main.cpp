// Prompt processing and generation speed of a GGUF model, measured the way llama.cpp's own
// llama-bench does it: random tokens, prompt decoded in batches, then one token per decode; one
// warm-up run, then the average of the repetitions. Generation is timed after a prompt of
// N_PROMPT tokens (llama-bench's `-d` depth), as in an answer. Prints one JSON object per test.
//
// usage: llama-bench MODEL.gguf THREADS N_PROMPT N_GEN REPETITIONS
#include "llama.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

static void quiet(ggml_log_level, const char *, void *) {}

static double now_s() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char ** argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL.gguf THREADS N_PROMPT N_GEN REPETITIONS\n", argv[0]);
        return 2;
    }
    const int threads = atoi(argv[2]), n_prompt = atoi(argv[3]), n_gen = atoi(argv[4]);
    const int reps = atoi(argv[5]);
    llama_log_set(quiet, nullptr);
    llama_backend_init();
    llama_model * model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    const llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_prompt + n_gen + 16;
    cp.n_batch = 2048;
    cp.n_threads = threads;
    cp.n_threads_batch = threads;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "cannot create a context\n");
        return 1;
    }
    std::mt19937 rng(42);
    auto random_token = [&]() { return (llama_token) (rng() % n_vocab); };

    auto prompt = [&]() {
        llama_memory_clear(llama_get_memory(ctx), true);
        std::vector<llama_token> tokens(n_prompt);
        tokens[0] = llama_vocab_bos(vocab);
        for (int i = 1; i < n_prompt; i++) tokens[i] = random_token();
        for (int i = 0; i < n_prompt; i += (int) cp.n_batch) {
            int n = std::min((int) cp.n_batch, n_prompt - i);
            if (llama_decode(ctx, llama_batch_get_one(tokens.data() + i, n)) != 0) exit(1);
        }
        llama_synchronize(ctx);
    };
    // Generation after the prompt (llama-bench's "tg N @ d<prompt>"): what an answer costs.
    // Returns the seconds of the generation alone.
    auto generate = [&]() {
        prompt();
        llama_token token = random_token();
        double t0 = now_s();
        for (int i = 0; i < n_gen; i++) {
            if (llama_decode(ctx, llama_batch_get_one(&token, 1)) != 0) exit(1);
            llama_synchronize(ctx);
            token = random_token();
        }
        return now_s() - t0;
    };
    auto report = [&](const char * name, int n_p, int n_g, double avg) {
        printf("{\"test\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"depth\": %d, "
               "\"threads\": %d, \"avg_s\": %.6f, \"avg_ts\": %.3f}\n",
               name, n_p, n_g, n_g > 0 ? n_prompt : 0, threads, avg, (n_p + n_g) / avg);
    };
    prompt();  // warm-up
    double total = 0;
    for (int r = 0; r < reps; r++) {
        double t0 = now_s();
        prompt();
        total += now_s() - t0;
    }
    report("pp", n_prompt, 0, total / reps);
    generate();  // warm-up
    total = 0;
    for (int r = 0; r < reps; r++) total += generate();
    report("tg", 0, n_gen, total / reps);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
