#!/usr/bin/env python3
"""The GPU embedding baseline (bench/gpu.sh): PyTorch + transformers on CUDA, what
sentence-transformers runs for all-MiniLM-L6-v2 (length-sorted batches, masked mean pooling,
L2 normalisation), timed from texts to vectors on the host, as `gpu_bench embed` is.

  python3 bench/gpu_torch.py make-model CONFIG_DIR OUT_DIR [SEED]
      A model folder with random weights of CONFIG_DIR's architecture (its config.json,
      tokenizer.json and sentence_bert_config.json), for when the real weights cannot travel.
  python3 bench/gpu_torch.py embed MODEL_DIR CHUNKS.json [--repeat N] [--batch N]
                                  [--dtype float16|float32] [--device cuda|cpu]
      One JSON object with chunks/s.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path


def make_model(config_dir: Path, out: Path, seed: int) -> None:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    model = BertModel(BertConfig.from_json_file(str(config_dir / "config.json")))
    model.save_pretrained(str(out), safe_serialization=True)
    for name in ("tokenizer.json", "sentence_bert_config.json"):
        if (config_dir / name).exists():
            shutil.copy(config_dir / name, out / name)
    print(json.dumps({"model": str(out), "parameters": sum(p.numel() for p in model.parameters())}))


def embed(args) -> None:
    import torch
    from tokenizers import Tokenizer
    from transformers import BertModel

    model_dir = Path(args.model)
    max_len = 256
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.exists():
        max_len = json.loads(st_config.read_text()).get("max_seq_length", max_len)
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_len)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    dtype = getattr(torch, args.dtype)
    device = torch.device(args.device)
    model = BertModel.from_pretrained(str(model_dir), torch_dtype=dtype).to(device).eval()
    texts = json.load(open(args.chunks)) * args.repeat

    def encode(batch_texts):
        # sentence-transformers' order: longest first, so each batch pads little.
        order = sorted(range(len(batch_texts)), key=lambda i: -len(batch_texts[i]))
        out = [None] * len(batch_texts)
        with torch.inference_mode():
            for start in range(0, len(order), args.batch):
                idx = order[start : start + args.batch]
                enc = tokenizer.encode_batch([batch_texts[i] for i in idx])
                ids = torch.tensor([e.ids for e in enc], device=device)
                mask = torch.tensor([e.attention_mask for e in enc], device=device)
                hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
                m = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(1).float() / m.sum(1).float().clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=1).cpu()
                for i, v in zip(idx, pooled):
                    out[i] = v
        return out

    encode(texts[: min(len(texts), 2 * args.batch)])  # warm-up: kernels, allocator
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    encode(texts)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "chunks": len(texts),
        "batch": args.batch,
        "dtype": args.dtype,
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "attention": getattr(model.config, "_attn_implementation", "unknown"),
        "chunks_per_s": len(texts) / seconds,
    }))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "make-model":
        if len(sys.argv) < 4:
            sys.exit(__doc__)
        make_model(Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) > 4 else 0)
        return
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("command", choices=["embed"])
    parser.add_argument("model")
    parser.add_argument("chunks")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    parser.add_argument("--device", default="cuda")
    embed(parser.parse_args())


if __name__ == "__main__":
    main()
