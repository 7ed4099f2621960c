#!/usr/bin/env python3
"""Export tiny PyTorch LSTM language models as NextWord test fixtures.

The Swift forward pass must reproduce PyTorch's log-probabilities to 1e-5, and the Swift checkpoint
reader must load a safetensors file written by the reference `safetensors` library. This script
builds, with a fixed seed, a model exactly like the `LM` class of shared/tools/peers/torch_lm.py
(nn.Embedding(V,E) -> nn.LSTM(E,H,layers) -> nn.Linear(H,V); V=12, E=H=6, 2 layers) and writes:

  Tests/NextWordTests/Fixtures/torch-tiny/        untied (decoder.weight is its own tensor)
  Tests/NextWordTests/Fixtures/torch-tiny-tied/   decoder weight shared with the embedding
  Tests/NextWordTests/Fixtures/torch-tiny-proj/   nn.LSTM(proj_size=4) over 6 cells, tied at the
                                                  projection's width (E = P = 4; weight_hr_l{k})

each holding
  model.safetensors  float32, tensors renamed to NextWord's names (emb.weight -> embedding.weight,
                     rnn.weight_ih_l{k} -> lstm.{k}.weight_ih, ..., out.* -> decoder.*); PyTorch's
                     gate order i, f, g, o is already NextWord's
  config.json        NextWord ModelConfig (keys are the Swift property names)
  vocab.txt          12 words, specials first; its SHA-256 is in config.json
  expected.json      {"tokens": [9 ids], "log_probs": [[V] per position],
                      "tensors": {name: [floats]} (untied fixture only)}
                     log_probs = log_softmax of the output after each input token, zero initial state,
                     batch 1, computed in float64 on the float32 weights upcast (so they are exact
                     references for the float32 weights, not float32 results).

Rerun (from the repository root; needs torch, safetensors, numpy):
    /tmp/torchvenv/bin/python scripts/export_torch_fixture.py
The output is deterministic for a given PyTorch version; rerunning should change nothing.
"""
import hashlib, json, os
import numpy as np
import torch, torch.nn as nn
from safetensors.torch import save_file

V, E, H, LAYERS = 12, 6, 6, 2
WORDS = ["<unk>", "</s>", "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "home"]
# Repeats, both specials, and a long enough run that the state carries through two layers.
TOKENS = [2, 3, 4, 5, 2, 7, 1, 9, 0]
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NextWordTests", "Fixtures"))


class LM(nn.Module):
    """torch_lm.py's LM, with its sizes as arguments (dropout is inactive in eval mode anyway)."""
    def __init__(s, tied, proj=0):
        super().__init__()
        e, out = (proj, proj) if proj else (E, H)
        s.drop = nn.Dropout(0.0)
        s.emb = nn.Embedding(V, e)
        s.rnn = nn.LSTM(e, H, LAYERS, dropout=0.0, proj_size=proj)
        s.out = nn.Linear(out, V)
        if tied:
            assert out == e
            s.out.weight = s.emb.weight
        nn.init.uniform_(s.emb.weight, -0.1, 0.1); nn.init.zeros_(s.out.bias)

    def forward(s, x, h):
        o, h = s.rnn(s.drop(s.emb(x)), h)
        return s.out(s.drop(o)), h


def swift_name(name):
    if name == "emb.weight": return "embedding.weight"
    if name.startswith("out."): return "decoder." + name[len("out."):]
    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"):
        prefix = "rnn." + kind + "_l"
        if name.startswith(prefix): return "lstm.%s.%s" % (name[len(prefix):], kind)
    raise ValueError(name)


def layout_names(tied, proj=0):
    """NextWord's ParameterLayout order."""
    names = ["embedding.weight"]
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") + (("weight_hr",) if proj else ())
    for k in range(LAYERS):
        names += ["lstm.%d.%s" % (k, kind) for kind in kinds]
    return names + ([] if tied else ["decoder.weight"]) + ["decoder.bias"]


def f32_list(t):
    # Shortest decimal that round-trips as float32: exact after parsing, and half the size of repr().
    return [float(np.format_float_positional(x, unique=True)) for x in t.detach().numpy().reshape(-1)]


def export(directory, tied, seed, proj=0):
    torch.manual_seed(seed)
    m = LM(tied, proj)
    with torch.no_grad():
        # LM's own init leaves the embedding and decoder at +-0.1 and the decoder bias at zero, which
        # would make every log-probability close to log(1/V); larger values and nonzero biases make
        # the logits differ enough that a wrong gate order or a missed bias fails the 1e-5 check.
        nn.init.uniform_(m.emb.weight, -1.0, 1.0)
        if not tied: nn.init.uniform_(m.out.weight, -1.0, 1.0)
        nn.init.uniform_(m.out.bias, -0.5, 0.5)
    m.eval()

    tensors = {}
    for name, p in m.state_dict().items():
        target = swift_name(name)
        if tied and target == "decoder.weight": continue  # the same storage as embedding.weight
        tensors[target] = p.detach().to(torch.float32).contiguous().clone()
    assert sorted(tensors) == sorted(layout_names(tied, proj)), sorted(tensors)

    os.makedirs(directory, exist_ok=True)
    save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})

    vocab = "".join(w + "\n" for w in WORDS).encode("utf-8")
    with open(os.path.join(directory, "vocab.txt"), "wb") as f: f.write(vocab)
    config = {
        "format": "nextword-lstm", "formatVersion": 1,
        "vocabularyFile": "vocab.txt", "vocabularySHA256": hashlib.sha256(vocab).hexdigest(),
        "vocabSize": V, "embeddingSize": proj or E, "hiddenSize": H, "layers": LAYERS, "tied": tied,
        "tokenization": "words", "lowercase": False,
    }
    if proj: config["projectionSize"] = proj
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True); f.write("\n")

    # Reference outputs in float64 from the float32 weights (upcasting is exact).
    d = m.double()
    with torch.no_grad():
        x = torch.tensor(TOKENS, dtype=torch.long).view(-1, 1)  # (seq, batch=1)
        h0 = (torch.zeros(LAYERS, 1, proj or H, dtype=torch.float64), torch.zeros(LAYERS, 1, H, dtype=torch.float64))
        out, _ = d(x, h0)
        log_probs = torch.log_softmax(out.view(len(TOKENS), V), dim=-1)
    expected = {
        "tokens": TOKENS,
        "log_probs": [[round(float(v), 12) for v in row] for row in log_probs],
    }
    if not tied:  # the tensor check needs one fixture; keeping it out of the other saves 8 KB
        expected["tensors"] = {name: f32_list(tensors[name]) for name in layout_names(tied)}
    with open(os.path.join(directory, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":")); f.write("\n")
    print(directory, {k: os.path.getsize(os.path.join(directory, k)) for k in sorted(os.listdir(directory))})


if __name__ == "__main__":
    export(os.path.join(ROOT, "torch-tiny"), tied=False, seed=1234)
    export(os.path.join(ROOT, "torch-tiny-tied"), tied=True, seed=4321)
    export(os.path.join(ROOT, "torch-tiny-proj"), tied=True, seed=2468, proj=4)
