"""The machine's accelerator: which image of a GPU-capable service runs, and how Podman hands it the device.

Pure data (no Django): the tailnet settings store the accelerator's key, the snapshot freezes it, and rendering
reads this table. A service offers GPU images per *backend* (``accelerated`` in its infrastructure fixture,
e.g. llama-swap's ``cuda``, ``rocm``, ``vulkan`` and ``intel`` builds); a service without an image for the
machine's backend runs its CPU image, with no device.

How each accelerator reaches a rootless Podman container:

- NVIDIA: the Container Device Interface (``nvidia-ctk cdi generate`` on the machine), so ``AddDevice=
  nvidia.com/gpu=all``; SELinux labels are disabled for the container, as NVIDIA's Podman guide does, since
  the driver's files on the host carry no container label.
- AMD ROCm: ``/dev/kfd`` (the compute interface) and ``/dev/dri`` (the GPU's render nodes).
- Vulkan (AMD or Intel) and Intel SYCL: ``/dev/dri``.

The render and kfd nodes belong to the host's ``render`` and ``video`` groups, which a rootless container's
user is not in unless it keeps the invoking user's groups: ``GroupAdd=keep-groups`` (crun, Podman's default
runtime). The user must be in those groups on the host (``usermod -aG render,video``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Accelerator:
    key: str
    label: str
    backend: str  # the image variant a service offers for it; "" for the CPU
    devices: tuple[str, ...]
    keep_groups: bool
    label_disable: bool
    help: str

    @property
    def is_gpu(self) -> bool:
        return bool(self.backend)


CPU = "cpu"

ACCELERATORS: dict[str, Accelerator] = {
    accelerator.key: accelerator
    for accelerator in (
        Accelerator(CPU, "CPU only", "", (), False, False, "Models run on the processor, in the machine's RAM."),
        Accelerator(
            "nvidia",
            "NVIDIA GPU (CUDA)",
            "cuda",
            ("nvidia.com/gpu=all",),
            False,
            True,
            "Needs the NVIDIA driver and the NVIDIA Container Toolkit's CDI spec (sudo nvidia-ctk cdi generate "
            "--output=/etc/cdi/nvidia.yaml).",
        ),
        Accelerator(
            "amd-rocm",
            "AMD GPU (ROCm)",
            "rocm",
            ("/dev/kfd", "/dev/dri"),
            True,
            True,
            "Radeon and Instinct cards ROCm supports; your user must be in the render and video groups.",
        ),
        Accelerator(
            "amd-vulkan",
            "AMD GPU (Vulkan)",
            "vulkan",
            ("/dev/dri",),
            True,
            True,
            "Any recent Radeon, integrated ones (Ryzen AI, Strix Halo) included, through Mesa's Vulkan driver; "
            "your user must be in the render and video groups.",
        ),
        Accelerator(
            "intel-vulkan",
            "Intel GPU (Vulkan)",
            "vulkan",
            ("/dev/dri",),
            True,
            True,
            "Arc and integrated Intel graphics through Mesa's Vulkan driver; your user must be in the render group.",
        ),
        Accelerator(
            "intel-sycl",
            "Intel GPU (SYCL, oneAPI)",
            "intel",
            ("/dev/dri",),
            True,
            True,
            "Arc and Data Center GPUs through Intel's oneAPI runtime; your user must be in the render group.",
        ),
    )
}

# Larger than any one machine Leger targets; a typo (64000 for 64) gets an error rather than no warning.
MAX_MEMORY_GB = 4096

# The GPU builds a service can offer (its fixture's ``accelerated`` keys).
BACKENDS = frozenset(a.backend for a in ACCELERATORS.values() if a.backend)

CHOICES = [(accelerator.key, accelerator.label) for accelerator in ACCELERATORS.values()]

# Offload every layer to the GPU; llama-server keeps what does not fit in VRAM on the CPU.
ALL_LAYERS = "999"


def accelerator(key: str) -> Accelerator:
    return ACCELERATORS.get(key, ACCELERATORS[CPU])


def image_for(service_image: str, accelerated: dict[str, str], key: str) -> tuple[str, Accelerator | None]:
    """The image a service runs on a machine with accelerator ``key``, and the accelerator it then uses
    (None when it runs on the CPU)."""
    chosen = accelerator(key)
    if chosen.is_gpu and chosen.backend in accelerated:
        return accelerated[chosen.backend], chosen
    return service_image, None


@dataclass(frozen=True)
class Fit:
    """Whether the chosen local models fit the machine's memory."""

    budget_gb: int | None  # what a model must fit in: VRAM on a GPU machine that gave it, else RAM
    budget_name: str  # "GPU memory" or "memory"
    too_big: list[tuple[str, int]]  # (model name, GB needed) that cannot load even alone
    together_gb: int  # all of them loaded at once
    together_fits: bool
    count: int  # how many models were checked


def memory_budget(*, key: str, memory_gb: int | None, gpu_memory_gb: int | None) -> tuple[int | None, str]:
    """What one local model must fit in, and its name: the GPU's memory on a GPU machine that gave it (llama-server
    offloads every layer there), else the machine's RAM; None when the machine's figures are unknown."""
    if accelerator(key).is_gpu and gpu_memory_gb:
        return gpu_memory_gb, "GPU memory"
    return memory_gb, "memory"


def memory_fit(
    models: list[tuple[str, int | None]], *, key: str, memory_gb: int | None, gpu_memory_gb: int | None
) -> Fit:
    """``models``: (name, GB needed or None). llama-swap runs one model at a time and unloads the last, so a
    model too big for the budget cannot run at all, while models that only fit one at a time run, each first
    request after a switch waiting for a load."""
    budget, name = memory_budget(key=key, memory_gb=memory_gb, gpu_memory_gb=gpu_memory_gb)
    needs = [(model, gb) for model, gb in models if gb]
    together = sum(gb for _, gb in needs)
    if budget is None:
        return Fit(None, name, [], together, True, len(models))
    too_big = [(model, gb) for model, gb in needs if gb > budget]
    return Fit(budget, name, too_big, together, together <= budget, len(models))
