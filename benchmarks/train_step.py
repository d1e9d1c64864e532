"""Training throughput of the distal teacher, ours against MotorNet 0.3.0, side by side in one run.

    pip install -e ".[bench]"        # brings motornet==0.3.0
    python benchmarks/train_step.py [--batches 8] [--threads 2]

Both train the paper preset's bilateral model (10 hidden units in two hemispheres, 2 layers,
callosum off) on random reaches, batch 64, 50-step (0.5 s) trials, with the non-specialised loss,
Adam and per-tensor gradient-norm clipping: trial-steps per second = trials x steps / wall time of
rollout + backward + update. Ours is ``Trainer.train_batch``, the step ``bilateral train`` runs: it
steps the MuJoCo arm with ``--threads`` MuJoCo threads and backpropagates through MuJoCo's
Jacobians (torch on one thread, as the trainer sets it). MotorNet steps its RigidTendonArm26 in
torch and backpropagates through autograd; it is timed with 1 and with 2 torch threads, and the
faster counts. Batches of the three are interleaved so that all see the same machine. The last line
is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from bilateral.controllers import Bilateral
from bilateral.losses import LOSS_PRESETS, TrialTerms
from bilateral.methods.distal import TrainConfig, Trainer
from bilateral.rollout import Trajectory, layer_activity

BATCH, STEPS = 64, 50
WEIGHTS = LOSS_PRESETS["non-specialised"]


class Ours:
    """Our trainer's own training step (the code ``bilateral train`` runs)."""

    def __init__(self, threads: int) -> None:
        config = TrainConfig.from_preset(
            "paper", variant="bi", task="reach", batch_size=BATCH, trial_steps=STEPS, threads=threads
        )
        self.trainer, self.index = Trainer(config, "unused", progress=False), 0

    def batch(self) -> float:
        torch.set_num_threads(1)  # as Trainer.run does
        start = time.perf_counter()
        self.trainer.train_batch(self.index)
        self.index += 1
        return time.perf_counter() - start


class MotorNet:
    """The same training step on MotorNet's RigidTendonArm26, with ``torch_threads`` torch threads."""

    def __init__(self, torch_threads: int) -> None:
        import motornet as mn

        self.threads = torch_threads
        effector = mn.effector.RigidTendonArm26(muscle=mn.muscle.RigidTendonHillMuscle())
        self.env = mn.environment.RandomTargetReach(effector=effector, max_ep_duration=STEPS * effector.dt)
        torch.manual_seed(0)
        self.model = Bilateral(10, 2)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)

    def batch(self) -> float:
        torch.set_num_threads(self.threads)
        start = time.perf_counter()
        obs, info = self.env.reset(options={"batch_size": BATCH})
        hand, excitation, layers = [info["states"]["fingertip"]], [], []
        for _ in range(STEPS):
            out = self.model(obs)
            obs, _, _, _, info = self.env.step(action=out.excitation)
            hand.append(info["states"]["fingertip"])
            excitation.append(out.excitation)
            layers.append(out.layers)
        trajectory = Trajectory(torch.stack(hand), torch.stack(excitation), info["goal"], layer_activity(layers))
        loss = TrialTerms.compute(trajectory).weighted(WEIGHTS)
        self.optimizer.zero_grad()
        loss.backward()
        for p in self.model.parameters():
            torch.nn.utils.clip_grad_norm_([p], 1.0)
        self.optimizer.step()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="timed batches per side (default: 8)")
    parser.add_argument("--threads", type=int, default=2, help="MuJoCo threads of ours (default: 2)")
    args = parser.parse_args()

    # MotorNet with 2 threads first: torch's idle worker threads must not spin beside our MuJoCo threads
    sides = {"motornet_2_threads": MotorNet(2), "motornet_1_thread": MotorNet(1), "ours": Ours(args.threads)}
    for side in sides.values():
        side.batch()  # warm up
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.batches):  # interleaved: every side sees the same machine conditions
        for name, side in sides.items():
            times[name].append(side.batch())
    sides["ours"].trainer.close()
    rate = {name: BATCH * STEPS / statistics.median(t) for name, t in times.items()}
    motornet = max(rate["motornet_1_thread"], rate["motornet_2_threads"])
    for name, r in rate.items():
        print(f"{name:>20}: {BATCH * STEPS / r * 1e3:7.1f} ms/batch = {r:8.0f} trial-steps/s")
    print(f"ratio ours / MotorNet (its faster thread count): {rate['ours'] / motornet:.2f}")
    print(
        json.dumps(
            {
                "ours_trial_steps_per_s": round(rate["ours"], 1),
                "motornet_trial_steps_per_s": round(motornet, 1),
                "motornet_by_threads": {
                    "1": round(rate["motornet_1_thread"], 1),
                    "2": round(rate["motornet_2_threads"], 1),
                },
                "ratio": round(rate["ours"] / motornet, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
