"""The embedding baseline: sentence-transformers on PyTorch (CPU), same model folder, same
chunks (written by `embed_bench --dump`), same number of threads, same batch size.

python bench/embed_st.py CHUNKS.json MODEL_DIR THREADS [BATCH] > result.json
Prints one JSON object with chunks/s.
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
    model = SentenceTransformer(model_dir, device="cpu")
    model.max_seq_length = 256
    model.encode(chunks[:4], batch_size=batch)  # warm-up
    started = time.perf_counter()
    model.encode(chunks, batch_size=batch, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    result = {
        "chunks": len(chunks),
        "threads": threads,
        "batch": batch,
        "torch": torch.__version__,
        "chunks_per_s": len(chunks) / seconds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
