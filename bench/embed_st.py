"""The embedding baseline: sentence-transformers on PyTorch (CPU), same model folder, same
chunks (written by `embed_bench --dump`), same number of threads, same batch size; in f32, and
with PyTorch's own int8 dynamic quantisation of the linear layers (the baseline for Quire's int8
path).

python bench/embed_st.py CHUNKS.json MODEL_DIR THREADS [BATCH] > result.json
Prints one JSON object with chunks/s of both, and the int8 vectors' cosine to the f32 ones.
"""

import json
import sys
import time


def main() -> None:
    chunks_file, model_dir, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    from sentence_transformers import SentenceTransformer

    chunks = json.load(open(chunks_file))

    def measure(model):
        model.encode(chunks[:4], batch_size=batch)  # warm-up
        started = time.perf_counter()
        vectors = model.encode(chunks, batch_size=batch, normalize_embeddings=True,
                               convert_to_tensor=True)
        return len(chunks) / (time.perf_counter() - started), vectors

    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = 256
    f32_rate, f32_vectors = measure(model)

    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    int8_rate, int8_vectors = measure(quantized)
    cosines = (f32_vectors * int8_vectors).sum(dim=1)
    result = {
        "chunks": len(chunks),
        "threads": threads,
        "batch": batch,
        "torch": torch.__version__,
        "chunks_per_s": f32_rate,
        "int8_chunks_per_s": int8_rate,
        "int8_quantized_engine": torch.backends.quantized.engine,
        "int8_min_cosine": float(cosines.min()),
        "int8_mean_cosine": float(cosines.mean()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
