"""Distributed training: two gloo processes on CPU end with identical weights; the launcher's command line."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest

from core.cli.main import build_parser
from core.cli.train import launch_distributed
from core.models.checkpoint import load_checkpoint
from core.paths import REPO_ROOT, SAMPLE_DIR

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_cpu_processes_end_with_identical_weights(tmp_path):
    out = tmp_path / "ddp"
    command = [
        sys.executable,
        "-m",
        "core",
        "train",
        "--nproc-per-node",
        "2",
        "--master",
        f"127.0.0.1:{free_port()}",
        "--data-path",
        str(SAMPLE_DIR),
        "--model-option",
        "width=0.25",
        "--classes",
        "fer3",
        "--epochs",
        "2",
        "--max-steps-per-epoch",
        "3",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    digests = dict(re.findall(r"rank (\d) weights sha1 ([0-9a-f]{40})", result.stdout))
    assert set(digests) == {"0", "1"} and digests["0"] == digests["1"]
    last = load_checkpoint(out / "last.pt")
    assert last["metrics"]["weights_sha1"] == digests["0"] and last["epoch"] == 2
    assert "Private Test Set" in result.stdout  # rank 0 evaluated best.pt


def test_launcher_drops_its_own_flags_and_fixes_the_run_folder(tmp_path, monkeypatch):
    argv = [
        "train",
        "--nproc-per-node",
        "4",
        "--nnodes=2",
        "--node-rank",
        "1",
        "--master",
        "10.0.0.1:1234",
        "--epochs",
        "3",
    ]
    args = build_parser().parse_args(argv)
    args.argv = argv
    seen = []
    monkeypatch.setattr(
        "core.training.distributed.subprocess.run",
        lambda command: seen.append(command) or subprocess.CompletedProcess(command, 0),
    )
    assert launch_distributed(args, tmp_path / "run") == 0
    command = seen[0]
    assert command[1:3] == ["-m", "torch.distributed.run"]
    assert "--nproc-per-node=4" in command and "--nnodes=2" in command and "--node-rank=1" in command
    assert "--master-addr=10.0.0.1" in command and "--master-port=1234" in command
    tail = command[command.index("core") + 1 :]
    assert tail == ["train", "--epochs", "3", "--out", str(tmp_path / "run")]
