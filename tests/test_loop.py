"""eep596gan.train.loop: the one training loop behind every trainer.

A tiny `Trainer` subclass (a line fitted by Adam) exercises the loop's guarantees: one history
entry per step, host syncs only every `log_every` steps, the NaN stop, callbacks, atomic
checkpoints, modes restored, argument checks. Real trainers (pix2pix, CycleGAN, MLE) check that
`save`/`load` resume bit for bit.
"""

import math
import re

import pytest
import torch
from torch import nn

from eep596gan.data import mixture_1d
from eep596gan.models import DCGANDiscriminator, GaussianMixture
from eep596gan.models.translation import PatchDiscriminator, UNetGenerator
from eep596gan.train import (
    CycleGANTrainer,
    MLETrainer,
    Pix2PixTrainer,
    Trainer,
    atomic_save,
    fit_cyclegan,
    fit_mle,
    fit_pix2pix,
    make_adam,
)
from eep596gan.train.loop import check_steps


class Line(Trainer):
    """Fits y = 2x with a 1-in, 1-out linear model; statistics: (loss, the step's number).

    `poison` maps a step number to (column index, value) written into that step's statistics.
    """

    columns = ("loss", "step")
    desc = "line"

    def __init__(self, lr=0.1, poison=None, device="cpu"):
        super().__init__(device, lr)
        self.net = nn.Linear(1, 1)
        with torch.no_grad():  # fixed start: no global RNG
            self.net.weight.fill_(0.5)
            self.net.bias.fill_(-0.25)
        self.optimizer = make_adam(self.net.parameters(), self.lr)
        self.x = torch.linspace(-1, 1, 16)[:, None]
        self.poison = poison or {}
        self.calls = 0
        self.modes_seen = []

    def step_fn(self):
        self.calls += 1
        self.modes_seen.append(self.net.training)
        loss = (self.net(self.x) - 2 * self.x).pow(2).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        row = torch.stack([loss.detach(), torch.tensor(float(self.step + 1))])
        if self.step + 1 in self.poison:
            column, value = self.poison[self.step + 1]
            row[column] = value
        return row

    def fit(self, steps, **kw):
        kw.setdefault("progress", False)
        return self.run(steps, self.step_fn, modules=(self.net,), **kw)

    def state_dict(self):
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state):
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])


def _weights(*modules):
    return [t.detach().clone() for m in modules for t in m.state_dict().values()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


# ------------------------------------------------------------------ history and syncs
def test_history_has_one_entry_per_step_in_order_and_accumulates_over_calls():
    t = Line()
    history = t.fit(7)
    assert history is t.history and set(history) == {"loss", "step"}
    assert history["step"] == [float(i) for i in range(1, 8)] and t.step == t.calls == 7
    assert all(isinstance(v, float) and math.isfinite(v) for v in history["loss"])
    assert history["loss"][-1] < history["loss"][0]  # Adam fits the line
    t.fit(5)
    assert t.history["step"] == [float(i) for i in range(1, 13)] and t.step == 12
    assert len(t.history["loss"]) == 12


def test_float64_statistics_reach_the_history_unrounded():
    class Exact(Trainer):
        columns = ("a",)

    t = Exact("cpu")
    t.run(3, lambda: torch.tensor([0.1 + 1e-12], dtype=torch.float64), progress=False)
    assert t.history["a"] == [0.1 + 1e-12] * 3  # float32 would give 0.10000000149...


def _record_syncs(monkeypatch):
    """Wrap Trainer._sync and Tensor.cpu; return the list of (rows, first_step) and a counter."""
    syncs, cpu_calls = [], [0]
    sync, cpu = Trainer._sync, torch.Tensor.cpu

    def recording_sync(self, rows, first_step, bar, progress):
        syncs.append((len(rows), first_step))
        return sync(self, rows, first_step, bar, progress)

    def counting_cpu(self, *args, **kwargs):
        cpu_calls[0] += 1
        return cpu(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_sync", recording_sync)
    monkeypatch.setattr(torch.Tensor, "cpu", counting_cpu)
    return syncs, cpu_calls


def test_the_host_sync_happens_only_every_log_every_steps(monkeypatch):
    t = Line()
    syncs, cpu_calls = _record_syncs(monkeypatch)
    t.fit(25, log_every=10)
    assert syncs == [(10, 0), (10, 10), (5, 20)]  # blocks of log_every steps, then the rest
    assert cpu_calls[0] == 3  # one device-to-host copy per block, none per step
    syncs.clear()
    t.fit(4, log_every=10)  # a later call starts its blocks at the trainer's step
    assert syncs == [(4, 25)] and t.history["step"] == [float(i) for i in range(1, 30)]


@pytest.mark.parametrize("steps, log_every", [(20, 10), (1500, 15), (6000, 50)])
def test_the_default_log_every_is_one_percent_of_the_steps_from_10_to_50(monkeypatch, steps,
                                                                         log_every):
    class Constant(Trainer):
        columns = ("a",)

    syncs, _ = _record_syncs(monkeypatch)
    row = torch.ones(1)
    Constant("cpu").run(steps, lambda: row, progress=False)
    assert len(syncs) == steps // log_every and {n for n, _ in syncs} == {log_every}


def test_a_progress_bar_shows_the_same_run(capsys):
    quiet, shown = Line(), Line()
    quiet.fit(12, log_every=5)
    shown.fit(12, log_every=5, progress=True)
    assert shown.history == quiet.history
    assert "line" in capsys.readouterr().err  # tqdm writes its bar (with `desc`) to stderr


# ------------------------------------------------------------------ the NaN stop
@pytest.mark.parametrize("bad_step, log_every", [(1, 5), (5, 5), (6, 5), (7, 5), (3, 100)])
def test_nan_stops_training_naming_the_exact_step_and_column(bad_step, log_every):
    t = Line(lr=0.1, poison={bad_step: (0, float("nan"))})
    with pytest.raises(FloatingPointError) as err:
        t.fit(20, log_every=log_every)
    message = str(err.value)
    assert re.fullmatch(
        rf"loss became nan at step {bad_step} \(lr=0\.1; loss=nan, step={bad_step}\): training "
        r"stopped\. The model diverged: rebuild it and train with a lower learning rate, "
        r"e\.g\. lr=0\.01, or check the data for NaN", message), message
    assert t.history["step"] == [float(i) for i in range(1, bad_step)]  # the rows before it
    assert len(t.history["loss"]) == bad_step - 1
    assert t.step == bad_step - 1  # step counts what the history holds, not the block's end


def test_the_first_non_finite_column_is_named_with_its_value():
    t = Line(lr=0.02, poison={4: (1, float("-inf"))})
    with pytest.raises(FloatingPointError,
                       match=r"^step became -inf at step 4 \(lr=0\.02; loss=[0-9.e-]+, step=-inf\)"
                             r".*e\.g\. lr=0\.002, or check"):
        t.fit(10, log_every=3)
    assert t.history["step"] == [1.0, 2.0, 3.0]


def test_a_nan_stop_restores_the_modules_mode():
    t = Line(poison={2: (0, float("nan"))})
    t.net.eval()
    with pytest.raises(FloatingPointError):
        t.fit(5, log_every=5)
    assert t.modes_seen and all(t.modes_seen) and not t.net.training


# ------------------------------------------------------------------ callbacks
def test_callbacks_run_every_callback_every_steps_and_at_the_end_on_a_synced_history():
    t = Line()
    seen = []

    def record(trainer, step):
        assert trainer is t and trainer.step == step
        seen.append((step, len(trainer.history["loss"])))  # synced before the callback

    t.fit(10, callbacks=[record], callback_every=4, log_every=50)
    assert seen == [(4, 4), (8, 8), (10, 10)]
    seen.clear()
    t.fit(5, callbacks=[record], callback_every=4, log_every=50)  # counts the trainer's steps
    assert seen == [(12, 12), (15, 15)]
    seen.clear()
    t.fit(5, callbacks=[record, lambda tr, s: seen.append(("second", s))], callback_every=5)
    assert seen == [(20, 20), ("second", 20)]  # the end is a multiple: called once, in order


# ------------------------------------------------------------------ checkpoints
def _record_saves(monkeypatch):
    saves = []
    save = Trainer.save

    def recording_save(self, path):
        save(self, path)
        state = torch.load(path, weights_only=True)
        saves.append((self.step, state["step"], len(state["history"]["loss"])))

    monkeypatch.setattr(Trainer, "save", recording_save)
    return saves


def test_checkpoints_are_written_every_checkpoint_every_steps_and_at_the_end(tmp_path,
                                                                            monkeypatch):
    saves = _record_saves(monkeypatch)
    t = Line()
    t.fit(10, checkpoint_path=tmp_path / "ck.pt", checkpoint_every=4, log_every=50)
    assert saves == [(4, 4, 4), (8, 8, 8), (10, 10, 10)]  # the history synced into each
    saves.clear()
    t.fit(3, checkpoint_path=tmp_path / "ck.pt")  # no checkpoint_every: at the end only
    assert saves == [(13, 13, 13)]
    saves.clear()
    t.fit(3, checkpoint_path=tmp_path / "ck.pt", checkpoint_every=8)  # step 16 is also the end
    assert saves == [(16, 16, 16)]
    saves.clear()
    t.fit(2, checkpoint_every=1)  # no path: nothing written
    assert saves == []
    state = torch.load(tmp_path / "ck.pt", weights_only=True)
    assert state["step"] == 16 and state["history"]["step"] == t.history["step"][:16]


def test_a_kill_during_a_checkpoint_leaves_the_previous_one_intact(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    t = Line()
    t.fit(4, checkpoint_path=path)
    t.net.eval()

    def killed(obj, f, *args, **kwargs):
        f.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        t.fit(4, checkpoint_path=path, checkpoint_every=2)  # killed saving step 6
    monkeypatch.undo()
    assert not t.net.training  # the mode is restored on the way out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]  # no temporary file left
    resumed = Line().load(path)
    assert resumed.step == 4 and resumed.history["step"] == [1.0, 2.0, 3.0, 4.0]


def test_atomic_save_creates_the_folder_and_replaces_the_file(tmp_path):
    path = tmp_path / "a" / "b" / "ck.pt"
    atomic_save({"step": 1}, path)
    atomic_save({"step": 2}, path)
    assert torch.load(path)["step"] == 2 and [p.name for p in path.parent.iterdir()] == ["ck.pt"]


def test_the_loop_resumes_bit_for_bit_from_its_own_checkpoint(tmp_path):
    straight = Line()
    straight.fit(12, log_every=5)
    first = Line()
    first.fit(7, checkpoint_path=tmp_path / "ck.pt", log_every=5)
    second = Line().load(tmp_path / "ck.pt")
    second.fit(5, log_every=5)
    assert second.step == 12 and second.history == straight.history
    assert _same(_weights(second.net), _weights(straight.net))
    assert torch.equal(second.optimizer.state_dict()["state"][0]["exp_avg_sq"],
                       straight.optimizer.state_dict()["state"][0]["exp_avg_sq"])


def test_load_refuses_a_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at .*checkpoint_path="):
        Line().load(tmp_path / "absent.pt")


# ------------------------------------------------------------------ modes and arguments
def test_the_modules_modes_are_restored_after_run():
    t = Line()
    t.net.eval()
    t.fit(3)
    assert t.modes_seen == [True, True, True] and not t.net.training
    t.net.train()
    t.fit(2)
    assert t.net.training


def test_steps_zero_does_nothing(tmp_path):
    t = Line()
    called = []
    history = t.fit(0, callbacks=[lambda *a: called.append(a)],
                    checkpoint_path=tmp_path / "ck.pt", checkpoint_every=1)
    assert history == {"loss": [], "step": []} and t.step == t.calls == 0
    assert not called and not (tmp_path / "ck.pt").exists()


@pytest.mark.parametrize("steps", [-1, 2.5, "3"])
def test_bad_steps_are_refused(steps):
    t = Line()
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        t.fit(steps)
    assert t.calls == 0


def test_a_whole_float_step_count_is_accepted():
    t = Line()
    t.fit(3.0)
    assert t.step == 3 and len(t.history["loss"]) == 3


def test_check_steps_and_the_learning_rate_check():
    check_steps(0, 1)
    check_steps(5, 64)
    for steps, batch_size in [(-1, 1), (1.5, 1), (1, 0), (1, 2.5)]:
        with pytest.raises(ValueError, match="steps must be an int >= 0 and batch_size an int"):
            check_steps(steps, batch_size)
    for lr in (0, -1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="lr must be a positive number"):
            Line(lr=lr)


# ------------------------------------------------------------------ real trainers resume
def _pairs(n=24, seed=0):
    source = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return source, -source


def _pix2pix(seed):
    torch.manual_seed(seed)  # the weights; the trainer's seed=0 orders the batches
    return Pix2PixTrainer(UNetGenerator(width=4), PatchDiscriminator(width=4), lr=1e-3,
                          device="cpu")


def _cyclegan(seed):
    torch.manual_seed(seed)
    nets = (UNetGenerator(width=4), UNetGenerator(width=4),
            DCGANDiscriminator((1, 8, 8), width=4), DCGANDiscriminator((1, 8, 8), width=4))
    return CycleGANTrainer(*nets, lr=1e-3, device="cpu")


@pytest.mark.parametrize("make", [_pix2pix, _cyclegan], ids=["pix2pix", "cyclegan"])
def test_translation_trainers_resume_bit_for_bit(tmp_path, make):
    """2N steps == N steps, save, a fresh trainer (other weights), load, N steps."""
    x, y = _pairs()
    straight = make(0)
    straight.fit(x, y, 6, batch_size=8, progress=False)
    first = make(0)
    first.fit(x, y, 3, batch_size=8, progress=False)
    first.save(tmp_path / "ck.pt")
    resumed = make(123).load(tmp_path / "ck.pt")
    assert resumed.step == 3
    resumed.fit(x, y, 3, batch_size=8, progress=False)
    assert resumed.step == 6 and resumed.history == straight.history
    for name, net in straight.nets.items():  # weights and batch-norm statistics
        assert _same(_weights(resumed.nets[name]), _weights(net)), name
    for opt in ("g_optimizer", "d_optimizer"):
        a = getattr(straight, opt).state_dict()["state"]
        b = getattr(resumed, opt).state_dict()["state"]
        assert all(torch.equal(a[k]["exp_avg"], b[k]["exp_avg"]) for k in a)


def _mle(seed, generator_seed=1):
    x = mixture_1d("bimodal").sample(400, generator=torch.Generator().manual_seed(0))
    model = GaussianMixture(2, generator=torch.Generator().manual_seed(seed))
    return x, MLETrainer(model, lr=0.05, generator=torch.Generator().manual_seed(generator_seed))


def test_mle_trainer_resumes_bit_for_bit(tmp_path):
    x, straight = _mle(0)
    straight.fit(x, 10, progress=False)
    _, first = _mle(0)
    first.fit(x, 5, progress=False)
    first.save(tmp_path / "ck.pt")
    _, resumed = _mle(7)
    resumed.load(tmp_path / "ck.pt").fit(x, 5, progress=False)
    assert resumed.step == 10 and resumed.history == straight.history
    assert _same(_weights(resumed.model), _weights(straight.model))


def test_mle_trainer_resumes_minibatch_training_bit_for_bit(tmp_path):
    x, straight = _mle(0)
    straight.fit(x, 10, batch_size=32, progress=False)
    _, first = _mle(0)
    first.fit(x, 5, batch_size=32, progress=False)
    first.save(tmp_path / "ck.pt")
    _, resumed = _mle(0)  # the same seeds as a restarted script would use
    resumed.load(tmp_path / "ck.pt").fit(x, 5, batch_size=32, progress=False)
    assert resumed.history == straight.history
    assert _same(_weights(resumed.model), _weights(straight.model))


# ------------------------------------------------------------------ the fit_* wrappers
def test_fit_pix2pix_cyclegan_and_mle_histories_have_the_documented_keys_and_lengths():
    x, y = _pairs()
    torch.manual_seed(0)
    h = fit_pix2pix(UNetGenerator(width=4), PatchDiscriminator(width=4), x, y, steps=3,
                    batch_size=4, device="cpu", progress=False)
    assert list(h) == ["d_loss", "g_loss", "l1"] and all(len(v) == 3 for v in h.values())
    assert all(v >= 0 for v in h["l1"] + h["d_loss"])
    nets = (UNetGenerator(width=4), UNetGenerator(width=4),
            DCGANDiscriminator((1, 8, 8), width=4), DCGANDiscriminator((1, 8, 8), width=4))
    h = fit_cyclegan(*nets, x, y, steps=2, batch_size=4, device="cpu", progress=False)
    assert list(h) == ["d_loss", "g_loss", "cycle"] and all(len(v) == 2 for v in h.values())
    assert all(v >= 0 for v in h["cycle"])
    x1 = mixture_1d("gaussian").sample(100, generator=torch.Generator().manual_seed(0))
    h = fit_mle(GaussianMixture(1, init=x1), x1, steps=4, progress=False)
    assert list(h) == ["log_likelihood"] and len(h["log_likelihood"]) == 4


@pytest.mark.parametrize("every", [0, -1, 1.5])
def test_callback_every_must_be_a_positive_int(every):
    t = Line()
    with pytest.raises(ValueError, match=r"callback_every must be an int >= 1"):
        t.fit(3, callbacks=[lambda tr, s: None], callback_every=every)
    assert t.step == 0 and t.history["loss"] == []
