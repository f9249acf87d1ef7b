"""The `eep596gan` command end to end on tiny settings: files, metrics keys, resume, errors."""

import json

import pytest

from eep596gan.cli import main
from eep596gan.data import DATASETS
from eep596gan.losses import GAN_LOSSES


def _metrics(out):
    return json.loads((out / "metrics.json").read_text())


def test_train_gan_on_ring8_writes_samples_metrics_checkpoint_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "gan", "--data", "ring8", "--steps", "40", "--out", str(out),
                 "--no-progress"]) == 0
    m = _metrics(out)
    assert {p.name for p in out.iterdir()} >= {"samples.png", "metrics.json", "checkpoint.pt"}
    assert m["steps"] == 40 and m["modes_total"] == 8 and 0 <= m["modes_captured"] <= 8
    assert 0.0 <= m["high_quality_fraction"] <= 1.0
    assert m["seconds"] > 0 and m["images_per_second"] > 0
    assert main(["train", "gan", "--data", "ring8", "--steps", "60", "--out", str(out), "--resume",
                 "--no-progress"]) == 0
    m = _metrics(out)
    assert m["steps"] == 60 and m["steps_this_run"] == 20
    assert "resumed from" in capsys.readouterr().out


def test_a_run_killed_after_a_checkpoint_resumes_to_the_same_final_weights(tmp_path, monkeypatch):
    """Kill (KeyboardInterrupt) right after the step-15 checkpoint, --resume, compare: no kill."""
    import torch

    from eep596gan.train import GANTrainer

    a, b = tmp_path / "a", tmp_path / "b"
    args = ["train", "gan", "--data", "grid25", "--steps", "30", "--checkpoint-every", "15",
            "--no-progress"]
    assert main([*args, "--out", str(a)]) == 0
    real_save = GANTrainer.save

    def save_then_die(self, path):
        real_save(self, path)
        raise KeyboardInterrupt("killed after the first checkpoint")

    monkeypatch.setattr(GANTrainer, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        main([*args, "--out", str(b)])
    monkeypatch.undo()
    assert torch.load(b / "checkpoint.pt", weights_only=False)["step"] == 15
    assert main([*args, "--out", str(b), "--resume"]) == 0
    ca, cb = (torch.load(p / "checkpoint.pt", weights_only=False) for p in (a, b))
    assert ca["step"] == cb["step"] == 30 and ca["history"] == cb["history"]
    for name in ("generator", "discriminator"):
        for key, value in ca[name].items():
            assert torch.equal(value, cb[name][key]), f"{name}.{key} differs after resume"


@pytest.mark.parametrize("model", ["gan", "dcgan", "vae", "ar"])
def test_train_on_digits_reports_frechet_distance_beside_the_real_floor(tmp_path, model, cache_dir):
    out = tmp_path / model
    assert main(["train", model, "--data", "digits", "--steps", "20", "--out", str(out),
                 "--no-progress"]) == 0
    m = _metrics(out)
    assert m["frechet_distance"] > m["frechet_distance_real"] > 0
    assert (out / "samples.png").stat().st_size > 1000


def test_doctor_lists_versions_device_and_datasets(capsys):
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    for word in ("torch", "device", "data: digits", "data: mnist"):
        assert word in text


def _exit_code(argv) -> int:
    """main's return value, or the code argparse exits with (its own errors, e.g. a bad choice)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("argv,messages", [
    # argparse's choices: "invalid choice: 'cifar' (choose from 'digits', 'mnist', ...)"
    (["train", "gan", "--data", "cifar"], ("cifar", *DATASETS)),
    (["train", "dcgan", "--data", "ring8"], ("dcgan needs images",)),
    (["train", "vae", "--data", "ring8"], ("vae trains on image datasets",)),
    (["train", "gan", "--data", "ring8", "--loss", "bce"], ("bce", *GAN_LOSSES)),
])
def test_bad_arguments_exit_2_with_what_to_do(tmp_path, capsys, argv, messages):
    assert _exit_code([*argv, "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert all(message in err for message in messages), err


def test_train_help_lists_every_dataset_and_every_gan_loss(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps help to the terminal: keep names whole
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--data" in text and "--loss" in text
    missing = [name for name in (*DATASETS, *GAN_LOSSES) if name not in text]
    assert not missing, f"train --help does not mention {missing}:\n{text}"
