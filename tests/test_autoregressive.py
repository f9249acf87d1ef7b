"""Autoregressive models: MADE's masks, exact normalised likelihoods, sampling and completion,
the CharLM, training."""

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from ar_models import sharpened_2x2_model

from eep596gan.data import load_images
from eep596gan.models.autoregressive import (
    DEFAULT_VOCAB,
    CharLM,
    PixelAR,
    binarize,
    load_corpus,
)
from eep596gan.train import ARTrainer


def _bits(m, shape, seed=0, dtype=torch.float64):
    return torch.randint(0, 2, (m, *shape), generator=torch.Generator().manual_seed(seed)).to(dtype)


def _all_2x2_images():
    images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64)
    return images.view(16, 1, 2, 2)


# ---------------------------------------------------------------------------------- PixelAR
def test_pixelar_logit_i_depends_only_on_pixels_before_i():
    torch.manual_seed(0)
    model = PixelAR((1, 4, 4), hidden=(32, 32)).double()
    x = _bits(1, (1, 4, 4)).flatten()
    jac = torch.autograd.functional.jacobian(  # (16, 16)
        lambda v: model(v.view(1, 1, 4, 4)).flatten(), x)
    assert torch.count_nonzero(jac.triu()) == 0  # no path from pixel j >= i to logit i
    assert torch.count_nonzero(jac.tril(-1)) == 16 * 15 // 2  # and every j < i reaches logit i
    # the same by perturbation: flipping pixel j changes no logit i <= j
    base = model(x.view(1, 1, 4, 4)).flatten()
    for j in range(16):
        flipped = x.clone()
        flipped[j] = 1 - flipped[j]
        out = model(flipped.view(1, 1, 4, 4)).flatten()
        assert torch.equal(out[: j + 1], base[: j + 1])


def test_pixelar_log_prob_is_the_sum_of_per_pixel_bernoulli_log_probs():
    torch.manual_seed(1)
    model = PixelAR((1, 3, 3), hidden=(16,)).double()
    x = _bits(5, (1, 3, 3), seed=2)
    expected = torch.zeros(5, dtype=torch.float64)
    with torch.no_grad():
        for i in range(9):
            # p(x_i | x_<i) from an input whose pixels >= i are scrambled: only x_<i may matter
            scrambled = x.flatten(1).clone()
            scrambled[:, i:] = _bits(5, (9 - i,), seed=100 + i)
            logit_i = model(scrambled.view(5, 1, 3, 3)).flatten(1)[:, i]
            expected += torch.distributions.Bernoulli(logits=logit_i).log_prob(x.flatten(1)[:, i])
        torch.testing.assert_close(model.log_prob(x), expected, rtol=1e-12, atol=1e-12)


def test_pixelar_is_a_normalised_distribution_on_2x2_images():
    model = sharpened_2x2_model()
    with torch.no_grad():
        p = model.log_prob(_all_2x2_images()).exp()
    assert 1 - 1e-12 < p.sum().item() < 1 + 1e-12
    assert p.max() / p.min() > 5  # not trivially uniform


def test_pixelar_samples_follow_its_own_likelihood():
    model = sharpened_2x2_model(seed=3)
    n = 20000
    x = model.sample(n, generator=torch.Generator().manual_seed(0))
    index = (x.flatten(1) @ torch.tensor([8.0, 4.0, 2.0, 1.0], dtype=x.dtype)).long()
    freq = torch.bincount(index, minlength=16).double() / n
    with torch.no_grad():
        p = model.log_prob(_all_2x2_images()).exp()
    assert torch.all((freq - p).abs() <= 4.5 * torch.sqrt(p * (1 - p) / n) + 1e-12)


def test_pixelar_sampling_is_one_network_call_per_pixel_and_seeded():
    torch.manual_seed(0)
    model = PixelAR((1, 4, 4), hidden=(16,))
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    x = model.sample(6, generator=torch.Generator().manual_seed(1))
    assert len(calls) == 16
    assert x.shape == (6, 1, 4, 4) and set(x.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(x, model.sample(6, generator=torch.Generator().manual_seed(1)))


# ------------------------------------------------------------------ PixelAR.complete
def test_complete_keeps_the_observed_pixels_and_fills_the_rest_with_bits():
    torch.manual_seed(0)
    model = PixelAR((1, 4, 4), hidden=(16,))
    x = _bits(5, (1, 4, 4), dtype=torch.float32)
    out = model.complete(x, 7, generator=torch.Generator().manual_seed(1))
    assert out.shape == x.shape and set(out.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out.flatten(1)[:, :7], x.flatten(1)[:, :7])
    assert torch.equal(model.complete(x, 16), x)  # everything observed: nothing to draw


def test_complete_with_nothing_observed_is_pixelar_sample():
    torch.manual_seed(0)
    model = PixelAR((1, 4, 4), hidden=(16,))
    out = model.complete(torch.ones(6, 1, 4, 4), 0, generator=torch.Generator().manual_seed(3))
    assert torch.equal(out, model.sample(6, generator=torch.Generator().manual_seed(3)))


def test_complete_draws_from_the_models_conditional_distribution():
    model = sharpened_2x2_model(seed=4)
    n, observed = 20000, (1.0, 0.0)
    x = torch.tensor([*observed, 0.0, 0.0], dtype=torch.float64).view(1, 1, 2, 2)
    x = x.repeat(n, 1, 1, 1)
    out = model.complete(x, 2, generator=torch.Generator().manual_seed(0))
    out = out.flatten(1)[:, 2:]  # (n, 2)
    freq = torch.bincount((2 * out[:, 0] + out[:, 1]).long(), minlength=4).double() / n
    # reference: p(x_3, x_4 | x_1, x_2) = p(x) / sum over the 4 completions, by enumeration
    rest = torch.tensor(list(itertools.product([0.0, 1.0], repeat=2)), dtype=torch.float64)
    given = torch.tensor(observed, dtype=torch.float64).expand(4, 2)
    full = torch.cat([given, rest], 1).view(4, 1, 2, 2)
    with torch.no_grad():
        p = torch.softmax(model.log_prob(full), 0)
    assert p.max() - p.min() > 0.1  # the conditional is far from uniform: the test can fail
    assert torch.all((freq - p).abs() <= 4.5 * torch.sqrt(p * (1 - p) / n) + 1e-12)


def test_complete_refuses_bad_pixel_counts_and_non_binary_images():
    model = PixelAR((1, 2, 2), hidden=(4,))
    with pytest.raises(ValueError, match=r"n_observed must lie in \[0, 4\]"):
        model.complete(_bits(2, (1, 2, 2), dtype=torch.float32), 5)
    with pytest.raises(ValueError, match="binarize"):
        model.complete(torch.full((2, 1, 2, 2), 0.5), 1)


def test_complete_and_sample_with_a_progress_bar_draw_the_same_pixels():
    torch.manual_seed(0)
    model = PixelAR((1, 2, 2), hidden=(4,))
    x = _bits(3, (1, 2, 2), dtype=torch.float32)
    quiet = model.complete(x, 1, generator=torch.Generator().manual_seed(5))
    shown = model.complete(x, 1, generator=torch.Generator().manual_seed(5), progress=True)
    assert torch.equal(quiet, shown)
    assert torch.equal(model.sample(3, generator=torch.Generator().manual_seed(6), progress=True),
                       model.sample(3, generator=torch.Generator().manual_seed(6)))


def test_binarize_thresholds_images_in_minus_one_one():
    x = torch.tensor([-1.0, -0.2, 0.0, 0.3, 1.0])
    assert binarize(x).tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert binarize(x, threshold=-0.5).tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]
    assert PixelAR.binarize is binarize


def test_pixelar_refuses_bad_input_with_clear_messages():
    model = PixelAR((1, 4, 4), hidden=(8,))
    with pytest.raises(ValueError, match=r"only 0 and 1.*binarize"):
        model.log_prob(torch.full((2, 1, 4, 4), 0.5))
    with pytest.raises(ValueError, match=r"shape \(m, 1, 4, 4\)"):
        model.log_prob(torch.zeros(2, 16))
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(torch.full((2, 1, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="only 0 and 1"):
        ARTrainer(model, device="cpu").fit(torch.rand(10, 1, 4, 4), 1, progress=False)
    with pytest.raises(ValueError, match="token ids for a text model"):
        ARTrainer(model, device="cpu").fit(torch.zeros(10, 1, 4, 4, dtype=torch.int64), 1,
                                           progress=False)


def _train_pixelar(seed, steps, hidden=(128,)):
    torch.manual_seed(0)
    model = PixelAR((1, 8, 8), hidden=hidden)
    x = binarize(load_images("digits")[0])
    trainer = ARTrainer(model, lr=2e-3, device="cpu", seed=seed, sync_every=40)
    history = trainer.fit(x, steps, 64, progress=False)
    return model, x, history


def test_pixelar_nll_goes_down_on_binarized_digits():
    torch.manual_seed(0)
    model, x, history = _train_pixelar(0, 150)
    with torch.no_grad():
        after = model.nll(x).mean().item()
        fresh = PixelAR((1, 8, 8), hidden=(128,)).nll(x).mean().item()
    assert 0 < after < fresh - 10
    assert len(history["nll"]) == 150
    assert sum(history["nll"][-10:]) / 10 < sum(history["nll"][:10]) / 10 - 10


def test_seeded_pixelar_training_reproduces_exactly_on_cpu():
    (m1, _, h1), (m2, _, h2), (_, _, h3) = (_train_pixelar(s, 25, (16,)) for s in (0, 0, 1))
    assert h1 == h2 and h1 != h3
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))


def test_ar_trainer_stops_on_nan_naming_the_step():
    model = PixelAR((1, 4, 4), hidden=(8,))
    with torch.no_grad():
        model.direct.weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match=r"nll became nan at step 1 .*lower learning rate"):
        ARTrainer(model, device="cpu").fit(_bits(20, (1, 4, 4), dtype=torch.float32), 5, 4,
                                           progress=False)


# ---------------------------------------------------------------------------------- CharLM
def test_charlm_encode_decode_round_trip_and_newline_is_begin_of_text():
    lm = CharLM()
    text = "NASA will take me to Moon.\nBake a cake!"
    ids = lm.encode(text)
    assert ids.dtype == torch.int64 and ids.shape == (len(text),)
    assert lm.decode(ids) == text
    assert ids[text.index("\n")] == lm.bos == len(DEFAULT_VOCAB)


def test_charlm_unknown_character_error_says_how_to_extend_the_vocab():
    with pytest.raises(ValueError, match=r"'\u00e9' \(U\+00E9\) at position 3 is not in the "
                                         r"vocabulary.*CharLM\(vocab="):
        CharLM().encode("caf\u00e9")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        CharLM(vocab="ab ").log_prob("abc")
    with pytest.raises(ValueError, match=r"ids must lie in \[0, 3\]"):
        CharLM(vocab="abc").decode([0, 4])


def _chain_rule_reference(lm, text):
    """sum_i log softmax(logits(last `context` ids before i))[id_i], one network call per char."""
    ids = [lm.bos] * lm.context + lm.encode(text).tolist()
    total = torch.zeros((), dtype=torch.float64)
    for i in range(lm.context, len(ids)):
        ctx = torch.tensor([ids[i - lm.context : i]])
        total += F.log_softmax(lm(ctx).double(), dim=1)[0, ids[i]]
    return total


def test_charlm_log_prob_is_the_chain_rule_in_float64():
    torch.manual_seed(0)
    lm = CharLM(context=8, embed=4, hidden=16).double()
    text = "NASA will take me to Moon"  # longer than the context: old characters drop out
    with torch.no_grad():
        lp = lm.log_prob(text)
        torch.testing.assert_close(lp, _chain_rule_reference(lm, text), rtol=1e-12, atol=1e-12)
        for k in (1, 5, 12):
            torch.testing.assert_close(lm.log_prob(text[:k]), lm.char_log_probs(text)[:k].sum())
    assert lm.log_prob("").item() == 0.0


def test_charlm_is_a_normalised_distribution_over_strings():
    torch.manual_seed(0)
    lm = CharLM(vocab="ab", context=2, embed=3, hidden=8).double()
    with torch.no_grad():
        for n in (1, 3):
            total = sum(lm.log_prob("".join(s)).exp() for s in itertools.product("ab\n", repeat=n))
            assert 1 - 1e-12 < total.item() < 1 + 1e-12


def test_term_log_probs_follow_the_slide_chain_rule_and_add_up():
    torch.manual_seed(0)
    lm = CharLM(context=8, embed=4, hidden=16)
    text = "NASA will take me to Moon"
    with torch.no_grad():
        terms = lm.term_log_probs(text)
        chars = lm.char_log_probs(text).double()
        total = lm.log_prob(text).item()
    assert [t.term for t in terms] == text.split()
    assert terms[2].context == "NASA will" and terms[0].context == ""
    assert math.isclose(terms[0].log_prob, chars[:5].sum().item(), rel_tol=1e-9)  # "NASA" + " "
    assert math.isclose(terms[-1].log_prob, chars[-4:].sum().item(), rel_tol=1e-9)  # "Moon"
    assert math.isclose(sum(t.log_prob for t in terms), total, rel_tol=1e-5)
    per_char = lm.term_log_probs(text, unit="char")
    assert "".join(t.term for t in per_char) == text
    assert math.isclose(sum(t.log_prob for t in per_char), total, rel_tol=1e-5)
    with pytest.raises(ValueError, match="unit must be 'word' or 'char'"):
        lm.term_log_probs(text, unit="sentence")


def test_charlm_sampling_is_seeded_and_greedy_at_low_temperature():
    torch.manual_seed(0)
    lm = CharLM(vocab="abc ", context=4, embed=4, hidden=16)
    s = lm.sample(30, prompt="ab", generator=torch.Generator().manual_seed(0))
    assert len(s) == 32 and s.startswith("ab") and set(s) <= set("abc \n")
    assert s == lm.sample(30, prompt="ab", generator=torch.Generator().manual_seed(0))
    # temperature -> 0 is greedy decoding: the argmax at each step
    ids = [lm.bos] * 4 + lm.encode("ab").tolist()
    with torch.no_grad():
        for _ in range(10):
            ids.append(int(lm(torch.tensor([ids[-4:]])).argmax()))
    assert lm.sample(10, prompt="ab", temperature=1e-6) == lm.decode(ids[4:])
    with pytest.raises(ValueError, match="temperature must be positive"):
        lm.sample(3, temperature=0)


def test_corpus_is_small_ascii_and_has_take_but_not_bake_me_to():
    text = load_corpus()
    assert 20_000 <= len(text.encode("ascii")) <= 60_000
    assert set(text) <= set(DEFAULT_VOCAB) | {"\n"}
    assert "take me to" in text and "bake a cake" in text and "NASA will take me to" in text
    assert "bake me to" not in text.lower()


def test_charlm_trained_briefly_scores_take_above_bake():
    torch.manual_seed(0)
    lm = CharLM(context=16, embed=16, hidden=128)
    trainer = ARTrainer(lm, lr=3e-3, device="cpu", seed=0)
    history = trainer.fit(load_corpus(), 400, 128, progress=False)
    with torch.no_grad():
        take = lm.log_prob("NASA will take me to Moon").item()
        bake = lm.log_prob("NASA will bake me to Moon").item()
    assert 0 > take > bake + 2  # at least e^2 ~ 7x more likely
    # well below uniform
    assert sum(history["nll"][-20:]) / 20 < math.log(len(DEFAULT_VOCAB) + 1) / 2
