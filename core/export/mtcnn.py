"""(Maintainers) exporting facenet-pytorch's MTCNN networks to ONNX, so face detection can run without torch.

The weights are the ones that ship inside the facenet-pytorch wheel (facenet_pytorch/data/*.pt); the exported
files go to checkpoints/mtcnn/ and are read by core/inference/onnx_detector.py. torch is imported here only.
"""

from __future__ import annotations

from pathlib import Path

# network -> (input side, None: any size (PNet is fully convolutional), output names in forward()'s order)
NETWORKS: dict[str, tuple[int | None, tuple[str, ...]]] = {
    "pnet": (None, ("regression", "probabilities")),
    "rnet": (24, ("regression", "probabilities")),
    "onet": (48, ("regression", "landmarks", "probabilities")),
}


def export_mtcnn(out: str | Path, opset: int = 17) -> list[Path]:
    """Write pnet.onnx, rnet.onnx and onet.onnx into `out`: input `image` (N, 3, H, W), normalised as MTCNN does."""
    import torch
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, network in (("pnet", PNet), ("rnet", RNet), ("onet", ONet)):
        side, outputs = NETWORKS[name]
        model = network(pretrained=True).eval()
        # PNet slides over every pyramid level, so its height and width vary; R/ONet see fixed-size crops
        spatial = {2: "height", 3: "width"} if side is None else {}
        axes = {o: {0: "batch", **spatial} for o in ("image", *outputs)}
        dummy = torch.zeros(1, 3, side or 24, side or 24)
        path = out / f"{name}.onnx"
        torch.onnx.export(
            model,
            (dummy,),
            str(path),
            input_names=["image"],
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
        written.append(path)
    return written


def check_mtcnn_parity(folder: str | Path, seed: int = 0) -> float:
    """Max |torch - onnxruntime| over the three networks' outputs on random inputs (PNet at an odd size)."""
    import numpy as np
    import onnxruntime
    import torch
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    rng = np.random.default_rng(seed)
    worst = 0.0
    for name, network, shape in (
        ("pnet", PNet, (2, 3, 37, 53)),
        ("rnet", RNet, (5, 3, 24, 24)),
        ("onet", ONet, (5, 3, 48, 48)),
    ):
        batch = rng.uniform(-1, 1, shape).astype(np.float32)
        with torch.inference_mode():
            expected = [t.numpy() for t in network(pretrained=True).eval()(torch.from_numpy(batch))]
        session = onnxruntime.InferenceSession(str(Path(folder) / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        got = session.run(None, {"image": batch})
        worst = max(worst, *(float(np.abs(g - e).max()) for g, e in zip(got, expected)))
    return worst
