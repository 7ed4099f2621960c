#!/usr/bin/env python3
"""Train NextWord's LSTM language model in PyTorch, on one CPU or many GPUs and hosts, and write a
NextWord model directory that `nextword eval`, `suggest`, `simulate` and the engine load unchanged.

The network is NextWord's: Embedding(V, E) -> L stacked LSTM layers (H units, gate order i, f, g, o
as nn.LSTM; with --projection P each layer's output is projected to P, nn.LSTM's proj_size) -> a
decoder tied to the embedding (E == the output width) or its own Linear(P or H, V). Training is
truncated BPTT with SGD, global-norm clipping and annealing on a validation plateau, like
`nextword train`, with its dropout kinds (plain, or AWD-LSTM's locked dropout per layer and
whole-word embedding dropout). Several processes train one model under DistributedDataParallel:

    torchrun --nproc_per_node 8 scripts/train_torch.py --train corpus/*.txt --valid dev/*.txt \\
        --output models/big --embedding 512 --hidden 512 --layers 2 --epochs 10
    torchrun --nnodes 4 --nproc_per_node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29400 ...
    python3 scripts/train_torch.py ...          # one process, CPU or one GPU

Input: text files of any size, one sentence per line, tokens separated by whitespace: exactly the
tokens NextWord's model sees. For text NextWord tokenizes itself (`--tokenization words`, the
default model's), tokenize it first with the same rules (`nextword train` does it in Swift; this
script does not reimplement the tokenizer, so one way text becomes ids stays one). Rank 0 encodes
the files once into a uint32 token file beside the output (`.torch-data/`); every rank memory-maps
it and trains on its own contiguous shard, so memory does not grow with the corpus.

Output (rank 0): config.json (NextWord's ModelConfig with the training record), model.safetensors
(float16 by default, NextWord's tensor names), the vocabulary file; `.torch-checkpoint.pt` after
every epoch (`--resume` continues from it). `--reference N` also writes expected.json: the
log-probabilities of the first N validation tokens from a zero state, in float64 from the stored
weights, which Tests/NextWordTests/TorchTrainingExportTests.swift compares with the Swift loader.

Needs torch, numpy and safetensors (pip install torch numpy safetensors).
"""
import argparse, hashlib, json, math, os, sys, time
from collections import Counter

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

UNK, EOS = "<unk>", "</s>"
LSTM_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", nargs="+", required=True, help="training text files (tokenized, one sentence per line)")
    p.add_argument("--valid", nargs="+", required=True, help="validation text files (model selection, annealing)")
    p.add_argument("--output", required=True, help="the NextWord model directory to write")
    p.add_argument("--vocab", help="impose this vocabulary (one word per line, <unk> and </s> first)")
    p.add_argument("--vocab-name", help="file name of the vocabulary in --output (default: OUTPUT's name + .txt)")
    p.add_argument("--max-vocab", type=int, help="build: at most this many words, specials included")
    p.add_argument("--min-count", type=int, default=1, help="build: keep words seen at least this often")
    p.add_argument("--tokenization", choices=["words", "pretokenized"], default="pretokenized",
                   help="how nextword splits text for this model at run time (recorded in config.json)")
    p.add_argument("--lowercase", action="store_true", help="lowercase words (and record it: nextword lowercases too)")
    p.add_argument("--embedding", type=int, default=256)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--projection", type=int, default=0, help="project each layer's output to this width (< --hidden)")
    p.add_argument("--no-tied", dest="tied", action="store_false", help="a decoder of its own instead of the embedding")
    p.add_argument("--dropout", type=float, default=0.4, help="dropout on the embeddings, between layers and on the output")
    p.add_argument("--dropout-input", type=float, help="AWD: on the embedding output (default --dropout)")
    p.add_argument("--dropout-hidden", type=float, help="AWD: between layers (default --dropout)")
    p.add_argument("--dropout-output", type=float, help="AWD: on the last layer's output (default --dropout)")
    p.add_argument("--dropout-embedding", type=float, default=0.0, help="AWD: whole words from the embedding lookup")
    p.add_argument("--locked-dropout", action="store_true", help="AWD: one mask per stream for a whole segment")
    p.add_argument("--ar", type=float, default=0.0, help="AWD: alpha * mean(x^2) of the last layer's dropped output")
    p.add_argument("--tar", type=float, default=0.0, help="AWD: beta * mean((h_t - h_t-1)^2) of the last layer's output")
    p.add_argument("--batch", type=int, default=32, help="streams per mini-batch on each process")
    p.add_argument("--bptt", type=int, default=35)
    p.add_argument("--lr", type=float, default=20.0)
    p.add_argument("--clip", type=float, default=0.25)
    p.add_argument("--anneal-threshold", type=float, default=0.0,
                   help="anneal (lr / 4) when validation improves by less than this fraction")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--max-minutes", type=float, help="stop after this many minutes of training")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="CPU threads per process")
    p.add_argument("--device", help="cpu, cuda (default: cuda when available)")
    p.add_argument("--storage", choices=["float16", "float32"], default="float16")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/.torch-checkpoint.pt")
    p.add_argument("--reference", type=int, default=0, help="write expected.json for the first N validation tokens")
    a = p.parse_args(argv)
    if a.projection and not 0 < a.projection < a.hidden:
        p.error("--projection must be smaller than --hidden")
    if a.tied and a.embedding != (a.projection or a.hidden):
        p.error("a tied decoder needs --embedding == --hidden, or == --projection (or pass --no-tied)")
    for name in ("dropout_input", "dropout_hidden", "dropout_output"):
        if getattr(a, name) is None: setattr(a, name, a.dropout)
    return a


# ---- data ------------------------------------------------------------------------------------

def words_of(line, lowercase):
    return [w.lower() if lowercase else w for w in line.split()]


def build_vocabulary(a):
    """<unk>, </s>, then by count (ties in code point order), as nextword's Vocabulary.build."""
    if a.vocab:
        with open(a.vocab, encoding="utf-8") as f: words = [w for w in f.read().split("\n") if w]
        if words[:2] != [UNK, EOS]: sys.exit("%s: the vocabulary must start with %s and %s" % (a.vocab, UNK, EOS))
        return words
    counts = Counter()
    for path in a.train:
        with open(path, encoding="utf-8") as f:
            for line in f: counts.update(words_of(line, a.lowercase))
    for special in (UNK, EOS): counts.pop(special, None)
    ranked = sorted((w for w, c in counts.items() if c >= a.min_count), key=lambda w: (-counts[w], w))
    if a.max_vocab: ranked = ranked[: max(0, a.max_vocab - 2)]
    return [UNK, EOS] + ranked


def encode(paths, index, lowercase, target, leading_eos):
    """Token ids of every line and one </s> after each, streamed into a uint32 file."""
    eos, unk = index[EOS], index[UNK]
    with open(target + ".part", "wb") as out:
        chunk = [eos] if leading_eos else []
        for path in paths:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    chunk.extend(index.get(w, unk) for w in words_of(line, lowercase))
                    chunk.append(eos)
                    if len(chunk) >= 1 << 20:
                        np.asarray(chunk, dtype=np.uint32).tofile(out); chunk = []
        np.asarray(chunk, dtype=np.uint32).tofile(out)
    os.replace(target + ".part", target)


def prepare_data(a, rank):
    """Rank 0 writes the vocabulary and the token files; every rank then maps them."""
    data_dir = os.path.join(a.output, ".torch-data")
    vocab_path = os.path.join(data_dir, "vocab.txt")
    if rank == 0 and not (a.resume and os.path.exists(os.path.join(data_dir, "valid.u32"))):
        os.makedirs(data_dir, exist_ok=True)
        words = build_vocabulary(a)
        with open(vocab_path, "w", encoding="utf-8") as f: f.write("".join(w + "\n" for w in words))
        index = {w: i for i, w in enumerate(words)}
        encode(a.train, index, a.lowercase, os.path.join(data_dir, "train.u32"), leading_eos=False)
        encode(a.valid, index, a.lowercase, os.path.join(data_dir, "valid.u32"), leading_eos=True)
    if dist.is_initialized(): dist.barrier()
    with open(vocab_path, encoding="utf-8") as f: words = [w for w in f.read().split("\n") if w]
    train = np.memmap(os.path.join(data_dir, "train.u32"), dtype=np.uint32, mode="r")
    valid = np.memmap(os.path.join(data_dir, "valid.u32"), dtype=np.uint32, mode="r")
    return words, train, valid


def streams(tokens, batch):
    """[B, n] view: stream b is tokens[b·n, (b+1)·n), as nextword's trainer cuts a stream."""
    n = len(tokens) // batch
    return tokens[: n * batch].reshape(batch, n)


# ---- model -----------------------------------------------------------------------------------

class LockedDropout(nn.Module):
    """One mask per stream for the whole segment (x: [T, B, W]); plain dropout when not locked."""
    def __init__(self, p, locked):
        super().__init__(); self.p, self.locked = p, locked

    def forward(self, x):
        if not self.training or self.p == 0: return x
        if not self.locked: return F.dropout(x, self.p, True)
        mask = x.new_empty(1, x.size(1), x.size(2)).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class NextWordLM(nn.Module):
    """NextWord's network; parameter names map one to one to its safetensors names."""
    def __init__(self, vocab, a):
        super().__init__()
        self.embedding = nn.Embedding(vocab, a.embedding)
        out = a.projection or a.hidden
        self.lstm = nn.ModuleList(nn.LSTM(a.embedding if k == 0 else out, a.hidden, proj_size=a.projection)
                                  for k in range(a.layers))
        self.decoder = nn.Linear(out, vocab)
        if a.tied: self.decoder.weight = self.embedding.weight
        self.tied, self.word_dropout = a.tied, a.dropout_embedding
        self.drops = nn.ModuleList([LockedDropout(a.dropout_input, a.locked_dropout)]
                                   + [LockedDropout(a.dropout_hidden if k < a.layers - 1 else a.dropout_output, a.locked_dropout)
                                      for k in range(a.layers)])
        # nextword train's initialisation: embedding (and a tied decoder) uniform ±0.1, bias 0;
        # the LSTM keeps nn.LSTM's uniform ±1/√H.
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        if not a.tied: nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, x, state):
        weight = self.embedding.weight
        if self.training and self.word_dropout > 0:
            keep = weight.new_empty(weight.size(0), 1).bernoulli_(1 - self.word_dropout) / (1 - self.word_dropout)
            weight = weight * keep
        h = self.drops[0](F.embedding(x, weight))
        new_state = []
        for k, layer in enumerate(self.lstm):
            h, s = layer(h, state[k])
            new_state.append(s)
            self.last_raw = h  # the last layer's output before dropout (TAR), then after (AR)
            h = self.drops[k + 1](h)
        self.last_dropped = h
        return self.decoder(h), new_state

    def zero_state(self, batch, device, dtype=torch.float32):
        return [(torch.zeros(1, batch, l.proj_size or l.hidden_size, device=device, dtype=dtype),
                 torch.zeros(1, batch, l.hidden_size, device=device, dtype=dtype)) for l in self.lstm]


def nextword_tensors(model):
    """NextWord's names in its ParameterLayout order (decoder.weight absent when tied)."""
    out = {"embedding.weight": model.embedding.weight}
    for k, layer in enumerate(model.lstm):
        for kind in LSTM_KINDS + (("weight_hr",) if layer.proj_size else ()):
            out["lstm.%d.%s" % (k, kind)] = getattr(layer, kind + "_l0")
    if not model.tied: out["decoder.weight"] = model.decoder.weight
    out["decoder.bias"] = model.decoder.bias
    return {name: t.detach().float().cpu().contiguous().clone() for name, t in out.items()}


def load_nextword_tensors(model, tensors):
    with torch.no_grad():
        model.embedding.weight.copy_(tensors["embedding.weight"])
        for k, layer in enumerate(model.lstm):
            for kind in LSTM_KINDS + (("weight_hr",) if layer.proj_size else ()):
                getattr(layer, kind + "_l0").copy_(tensors["lstm.%d.%s" % (k, kind)])
        if not model.tied: model.decoder.weight.copy_(tensors["decoder.weight"])
        model.decoder.bias.copy_(tensors["decoder.bias"])


# ---- training --------------------------------------------------------------------------------

def evaluate(model, valid, device, bptt):
    """Perplexity over the validation tokens as 10 parallel streams (nextword train's choice)."""
    model.eval()
    data = streams(valid, 10)
    state = model.zero_state(10, device)
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, data.shape[1] - 1, bptt):
            steps = min(bptt, data.shape[1] - 1 - i)
            x = torch.from_numpy(data[:, i:i + steps].T.astype(np.int64)).to(device)
            y = torch.from_numpy(data[:, i + 1:i + 1 + steps].T.astype(np.int64)).to(device)
            logits, state = model(x, state)
            total += F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return math.exp(total / max(count, 1))


def train_epoch(model, ddp, data, device, a, lr, deadline):
    model.train()
    state = model.zero_state(a.batch, device)
    total, count, started = 0.0, 0, time.time()
    for i in range(0, data.shape[1] - 1, a.bptt):
        steps = min(a.bptt, data.shape[1] - 1 - i)
        x = torch.from_numpy(data[:, i:i + steps].T.astype(np.int64)).to(device)
        y = torch.from_numpy(data[:, i + 1:i + 1 + steps].T.astype(np.int64)).to(device)
        state = [(h.detach(), c.detach()) for h, c in state]
        logits, state = ddp(x, state)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.reshape(-1))
        objective = loss
        if a.ar: objective = objective + a.ar * model.last_dropped.pow(2).mean()
        if a.tar and steps > 1: objective = objective + a.tar * (model.last_raw[1:] - model.last_raw[:-1]).pow(2).mean()
        ddp.zero_grad(set_to_none=True)
        objective.backward()  # DistributedDataParallel averages the gradients over every process here
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        with torch.no_grad():
            for p in model.parameters(): p.add_(p.grad, alpha=-lr)
        total += loss.item() * y.numel(); count += y.numel()
        if deadline and time.time() > deadline: break
    return total / max(count, 1), count, time.time() - started


def write_model(model, words, a, record):
    """config.json, model.safetensors and the vocabulary, each written whole then renamed."""
    vocab_name = a.vocab_name or os.path.basename(os.path.normpath(a.output)) + ".txt"
    vocab_bytes = "".join(w + "\n" for w in words).encode("utf-8")
    dtype = torch.float16 if a.storage == "float16" else torch.float32
    tensors = {n: t.to(dtype) for n, t in nextword_tensors(model).items()}
    config = {
        "format": "nextword-lstm", "formatVersion": 1,
        "vocabularyFile": vocab_name, "vocabularySHA256": hashlib.sha256(vocab_bytes).hexdigest(),
        "vocabSize": len(words), "embeddingSize": a.embedding, "hiddenSize": a.hidden, "layers": a.layers,
        "tied": a.tied, "tokenization": a.tokenization, "lowercase": a.lowercase, "training": record,
    }
    if a.projection: config["projectionSize"] = a.projection
    def atomic(name, write):
        path = os.path.join(a.output, name)
        write(path + ".part"); os.replace(path + ".part", path)
    atomic(vocab_name, lambda p: open(p, "wb").write(vocab_bytes))
    atomic("model.safetensors", lambda p: save_file(tensors, p, metadata={"format": "pt"}))
    atomic("config.json", lambda p: open(p, "w").write(json.dumps(config, indent=2, sort_keys=True) + "\n"))


def write_reference(a, words, valid):
    """expected.json: float64 log-probabilities of the first N validation tokens from the stored
    weights (upcast exactly), zero state, batch 1: what the Swift loader must reproduce."""
    tensors = {n: t.double() for n, t in load_file(os.path.join(a.output, "model.safetensors")).items()}
    model = NextWordLM(len(words), a).double().eval()
    load_nextword_tensors(model, tensors)
    tokens = [int(t) for t in valid[: a.reference]]
    with torch.no_grad():
        logits, _ = model(torch.tensor(tokens).view(-1, 1), model.zero_state(1, "cpu", torch.float64))
        log_probs = torch.log_softmax(logits.view(len(tokens), -1), dim=-1)
    with open(os.path.join(a.output, "expected.json"), "w") as f:
        json.dump({"tokens": tokens, "log_probs": [[round(float(v), 12) for v in row] for row in log_probs]},
                  f, separators=(",", ":")); f.write("\n")


def main(argv=None):
    a = parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device(a.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda": torch.cuda.set_device(local); device = torch.device("cuda", local)
    if world > 1: dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)  # the same initial weights on every process
    os.makedirs(a.output, exist_ok=True)

    words, train, valid = prepare_data(a, rank)
    shard = len(train) // world
    data = streams(train[rank * shard:(rank + 1) * shard], a.batch)
    model = NextWordLM(len(words), a).to(device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None) if world > 1 else model
    torch.manual_seed(a.seed * 1000 + rank)  # each process its own dropout masks

    checkpoint_path = os.path.join(a.output, ".torch-checkpoint.pt")
    lr, best, history, epoch0, seconds, tokens_seen = a.lr, None, [], 0, 0.0, 0
    if a.resume and os.path.exists(checkpoint_path):
        saved = torch.load(checkpoint_path, map_location=device)
        model.load_state_dict(saved["model"])
        lr, best, history, epoch0 = saved["lr"], saved["best"], saved["history"], saved["epoch"]
        seconds, tokens_seen = saved["seconds"], saved["tokens"]
        if rank == 0: print("resuming after epoch %d, learning rate %g" % (epoch0, lr), flush=True)
    if rank == 0:
        print("processes %d on %s, train %d tokens (%d a process), valid %d, vocabulary %d, parameters %d"
              % (world, device.type, len(train), shard, len(valid) - 1, len(words),
                 sum(p.numel() for p in model.parameters())), flush=True)

    command = " ".join(["scripts/train_torch.py"] + (argv if argv is not None else sys.argv[1:]))
    for epoch in range(epoch0 + 1, a.epochs + 1):
        deadline = time.time() + a.max_minutes * 60 - seconds if a.max_minutes else None
        loss, count, took = train_epoch(model, ddp, data, device, a, lr, deadline)
        seconds += took; tokens_seen += count * world
        # Validation on rank 0, its figure sent to every process so all anneal alike.
        ppl = torch.tensor([evaluate(model, valid, device, a.bptt) if rank == 0 else 0.0], dtype=torch.float64)
        if world > 1: dist.broadcast(ppl, 0)
        ppl = float(ppl.item())
        history.append({"epoch": epoch, "trainLoss": loss, "validPerplexity": ppl, "learningRate": lr,
                        "seconds": took, "tokensPerSecond": count * world / max(took, 1e-9)})
        improved = best is None or ppl < best
        if best is not None and not ppl < best * (1 - a.anneal_threshold): lr /= 4
        if improved: best = ppl
        if rank == 0:
            print("epoch %d  train loss %.3f  valid ppl %.2f  lr %g  %.0f tokens/s%s"
                  % (epoch, loss, ppl, history[-1]["learningRate"], history[-1]["tokensPerSecond"],
                     "  (best, saved)" if improved else ""), flush=True)
            if improved:
                record = {"command": command, "data": " ".join(a.train + a.valid), "epochs": epoch,
                          "batchSize": a.batch * world, "bptt": a.bptt, "dropout": a.dropout_output,
                          "learningRate": a.lr, "seed": a.seed, "threads": a.threads, "wallSeconds": seconds,
                          "tokensPerSecond": tokens_seen / max(seconds, 1e-9), "bestValidPerplexity": ppl,
                          "history": history}
                write_model(model, words, a, record)
            torch.save({"model": model.state_dict(), "lr": lr, "best": best, "history": history, "epoch": epoch,
                        "seconds": seconds, "tokens": tokens_seen}, checkpoint_path + ".part")
            os.replace(checkpoint_path + ".part", checkpoint_path)
        if a.max_minutes and seconds / 60 > a.max_minutes: break
    if rank == 0 and a.reference: write_reference(a, words, valid)
    if world > 1: dist.destroy_process_group()


if __name__ == "__main__":
    main()
