"""Training throughput of the distal teacher, ours against MotorNet 0.3.0, side by side in one run.

    pip install -e ".[bench]"        # brings motornet==0.3.0
    python benchmarks/train_step.py [--batches 8] [--threads 2]

Both train the paper's bilateral model (10 hidden units in two hemispheres, 2 layers, callosum off)
on random reaches, batch 64, 50-step (0.5 s) trials, with the non-specialised loss, Adam and
gradient-norm clipping: trial-steps per second = trials x steps / wall time of rollout + backward +
update. Ours steps the MuJoCo arm and backpropagates through MuJoCo's finite-difference
Jacobians; MotorNet steps its RigidTendonArm26 in torch and backpropagates through autograd.
Both get the same torch threads. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from bilateral.controllers import Bilateral
from bilateral.distal import TrainConfig, Trainer
from bilateral.losses import PRESETS, TrialTerms

BATCH, STEPS = 64, 50
WEIGHTS = PRESETS["non-specialised"]


def ours(batches: int, threads: int) -> list[float]:
    """Seconds per batch of our trainer's own training step (the code ``bilateral train`` runs)."""
    config = TrainConfig.from_preset(
        "paper", variant="bi", task="reach", batch_size=BATCH, trial_steps=STEPS, threads=threads
    )
    trainer = Trainer(config, "unused", progress=False)
    from bilateral.distal import make_batch

    trainer._batch = make_batch(config, BATCH, trainer.task)
    times = []
    for index in range(batches + 1):
        start = time.perf_counter()
        trainer._train_batch(index)
        times.append(time.perf_counter() - start)
    trainer._batch.close()
    return times[1:]  # the first batch warms up


def motornet(batches: int) -> list[float]:
    """Seconds per batch of the same training step on MotorNet's RigidTendonArm26."""
    import motornet as mn

    effector = mn.effector.RigidTendonArm26(muscle=mn.muscle.RigidTendonHillMuscle())
    env = mn.environment.RandomTargetReach(effector=effector, max_ep_duration=STEPS * effector.dt)
    torch.manual_seed(0)
    model = Bilateral(10, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for _ in range(batches + 1):
        start = time.perf_counter()
        obs, info = env.reset(options={"batch_size": BATCH})
        hand, excitation, hidden = [], [], []
        for _ in range(STEPS):
            out = model(obs)
            obs, _, _, _, info = env.step(action=out.excitation)
            hand.append(info["states"]["fingertip"])
            excitation.append(out.excitation)
            hidden.append(out.hidden)
        terms = TrialTerms.compute(torch.stack(hand), info["goal"], torch.stack(excitation), torch.stack(hidden))
        loss = terms.weighted(WEIGHTS)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="timed batches per side (default: 8)")
    parser.add_argument("--threads", type=int, default=2, help="threads stepping MuJoCo (default: 2)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch intra-op threads, both sides")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)

    # interleave the two so that both see the same machine conditions
    ours_times, motornet_times = [], []
    for _ in range(2):
        ours_times += ours(args.batches // 2, args.threads)
        motornet_times += motornet(args.batches // 2)
    per_batch = {"ours": statistics.median(ours_times), "motornet": statistics.median(motornet_times)}
    rate = {k: BATCH * STEPS / v for k, v in per_batch.items()}
    print(
        f"ours (MuJoCo + FD Jacobians, {args.threads} threads): {per_batch['ours'] * 1e3:7.1f} ms/batch "
        f"= {rate['ours']:8.0f} trial-steps/s"
    )
    print(
        f"MotorNet 0.3.0 RigidTendonArm26:            {per_batch['motornet'] * 1e3:7.1f} ms/batch "
        f"= {rate['motornet']:8.0f} trial-steps/s"
    )
    print(f"ratio ours / MotorNet: {rate['ours'] / rate['motornet']:.2f}")
    print(
        json.dumps(
            {
                "ours_trial_steps_per_s": round(rate["ours"], 1),
                "motornet_trial_steps_per_s": round(rate["motornet"], 1),
                "ratio": round(rate["ours"] / rate["motornet"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
