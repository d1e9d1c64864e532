"""Training throughput of the distal teacher, ours against MotorNet 0.3.0, side by side in one run.

    pip install -e ".[bench]"        # brings motornet==0.3.0
    python benchmarks/train_step.py [--case paper gru] [--batches 8] [--threads 2]

Two cases, each a training step (rollout + backward + update) of the same controller and loss on
both sides, with Adam and per-tensor gradient-norm clipping:

- ``paper``: the paper preset's bilateral model (10 hidden units in two hemispheres, 2 dense layers,
  callosum off) on random reaches, batch 64, 50-step (0.5 s) trials, the non-specialised loss.
- ``gru``: the protocol MotorNet's users run (its ``PolicyGRU``: one GRU layer of 100 units, a
  sigmoid readout, MotorNet's initialisation with output bias -5), batch 32, 160-step (1.6 s)
  trials, the L1 position loss (the dominant preset without its hidden-activity term). Ours is
  ``--variant uni-dom --cell gru --width 100 --depth 1`` starting from the very same weights.

Trial-steps per second = trials x steps / wall time. Ours is ``Trainer.train_batch``, the step
``bilateral train`` runs: MuJoCo with ``--threads`` threads, backpropagation through MuJoCo's
Jacobians, torch on one thread (as the trainer sets it). MotorNet steps its RigidTendonArm26 in
torch and backpropagates through autograd; it is timed with 1 and with 2 torch threads, and the
faster counts. Batches of the three are interleaved so that all see the same machine. The last line
is one JSON object, one entry per case.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass

import torch

from bilateral.controllers import Bilateral
from bilateral.losses import LOSS_PRESETS, TrialTerms
from bilateral.methods.distal import TrainConfig, Trainer
from bilateral.rollout import Trajectory, layer_activity


@dataclass(frozen=True)
class Case:
    """One comparison: the batch, the trial length, the loss and how each side builds its controller."""

    batch: int
    steps: int
    weights: dict[str, float]
    config: dict  # our TrainConfig's values (beside the batch and the trial length)
    gru_units: int = 0  # 0: our Bilateral(10, 2) on both sides; else MotorNet's PolicyGRU of this width


CASES = {
    "paper": Case(64, 50, LOSS_PRESETS["non-specialised"], {"variant": "bi"}),
    "gru": Case(
        32,
        160,
        {"position_l1": LOSS_PRESETS["dominant"]["position_l1"]},
        {
            "variant": "uni-dom",
            "cell": "gru",
            "width": 100,
            "depth": 1,
            "loss_overrides": {"dominant": {"hidden": 0.0}},
        },
        gru_units=100,
    ),
}


def motornet_policy(units: int):
    """MotorNet's own GRU policy (16 observations, 6 muscles), initialised as MotorNet does."""
    import motornet as mn

    torch.manual_seed(0)
    return mn.policy.PolicyGRU(16, units, 6, device="cpu")


class Ours:
    """Our trainer's own training step (the code ``bilateral train`` runs)."""

    def __init__(self, case: Case, threads: int) -> None:
        config = TrainConfig.from_preset(
            "paper", task="reach", batch_size=case.batch, trial_steps=case.steps, threads=threads, **case.config
        )
        self.trainer, self.index = Trainer(config, "unused", progress=False), 0
        if case.gru_units:  # start from MotorNet's initial weights (same shapes: GRU input, hidden, readout)
            policy = motornet_policy(case.gru_units)
            layer = self.trainer.model.stack.layers[0]
            with torch.no_grad():
                for ours, theirs in (
                    (layer.weight_ih, policy.gru.weight_ih_l0),
                    (layer.weight_hh, policy.gru.weight_hh_l0),
                    (layer.bias_ih, policy.gru.bias_ih_l0),
                    (layer.bias_hh, policy.gru.bias_hh_l0),
                    (self.trainer.model.output.weight, policy.fc.weight),
                    (self.trainer.model.output.bias, policy.fc.bias),
                ):
                    ours.copy_(theirs)

    def batch(self) -> float:
        torch.set_num_threads(1)  # as Trainer.run does
        start = time.perf_counter()
        self.trainer.train_batch(self.index)
        self.index += 1
        return time.perf_counter() - start

    def close(self) -> None:
        self.trainer.close()


class MotorNet:
    """The same training step on MotorNet's RigidTendonArm26, with ``torch_threads`` torch threads."""

    def __init__(self, case: Case, torch_threads: int) -> None:
        import motornet as mn

        self.case, self.threads = case, torch_threads
        effector = mn.effector.RigidTendonArm26(muscle=mn.muscle.RigidTendonHillMuscle())
        self.env = mn.environment.RandomTargetReach(effector=effector, max_ep_duration=case.steps * effector.dt)
        if case.gru_units:
            self.policy = motornet_policy(case.gru_units)
        else:
            torch.manual_seed(0)
            self.policy = Bilateral(10, 2)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=1e-3)

    def batch(self) -> float:
        torch.set_num_threads(self.threads)
        case = self.case
        start = time.perf_counter()
        obs, info = self.env.reset(options={"batch_size": case.batch})
        hand, excitation, layers = [info["states"]["fingertip"]], [], []
        h = self.policy.init_hidden(case.batch) if case.gru_units else None
        for _ in range(case.steps):
            if case.gru_units:
                u, h = self.policy(obs, h)
                layers.append({"unilateral": [h[0]]})
            else:
                out = self.policy(obs)
                u = out.excitation
                layers.append(out.layers)
            obs, _, _, _, info = self.env.step(action=u)
            hand.append(info["states"]["fingertip"])
            excitation.append(u)
        trajectory = Trajectory(torch.stack(hand), torch.stack(excitation), info["goal"], layer_activity(layers))
        loss = TrialTerms.compute(trajectory).weighted(case.weights)
        self.optimizer.zero_grad()
        loss.backward()
        for p in self.policy.parameters():
            torch.nn.utils.clip_grad_norm_([p], 1.0)
        self.optimizer.step()
        return time.perf_counter() - start

    def close(self) -> None:
        pass


def measure(case: Case, batches: int, threads: int) -> dict:
    """Interleaved timed batches of the three sides; their trial-steps per second and the ratio."""
    # MotorNet with 2 threads first: torch's idle worker threads must not spin beside our MuJoCo threads
    sides = {
        "motornet_2_threads": MotorNet(case, 2),
        "motornet_1_thread": MotorNet(case, 1),
        "ours": Ours(case, threads),
    }
    for side in sides.values():
        side.batch()  # warm up
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(batches):  # interleaved: every side sees the same machine conditions
        for name, side in sides.items():
            times[name].append(side.batch())
    for side in sides.values():
        side.close()
    work = case.batch * case.steps
    rate = {name: work / statistics.median(t) for name, t in times.items()}
    motornet = max(rate["motornet_1_thread"], rate["motornet_2_threads"])
    for name, r in rate.items():
        print(f"{name:>20}: {work / r * 1e3:7.1f} ms/batch = {r:8.0f} trial-steps/s")
    print(f"ratio ours / MotorNet (its faster thread count): {rate['ours'] / motornet:.2f}")
    return {
        "ours_trial_steps_per_s": round(rate["ours"], 1),
        "motornet_trial_steps_per_s": round(motornet, 1),
        "motornet_by_threads": {"1": round(rate["motornet_1_thread"], 1), "2": round(rate["motornet_2_threads"], 1)},
        "ratio": round(rate["ours"] / motornet, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", choices=tuple(CASES), default=list(CASES), help="cases (default: all)")
    parser.add_argument("--batches", type=int, default=8, help="timed batches per side (default: 8)")
    parser.add_argument("--threads", type=int, default=2, help="MuJoCo threads of ours (default: 2)")
    args = parser.parse_args()
    if args.batches < 1 or args.threads < 1:
        parser.error("--batches and --threads must be at least 1")
    results = {}
    for name in args.case:
        case = CASES[name]
        print(f"case {name}: batch {case.batch}, {case.steps} steps")
        results[name] = measure(case, args.batches, args.threads)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
