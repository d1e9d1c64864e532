"""Gradient routing of specialised bilateral models (DESIGN §4)."""

import numpy as np
import pytest
import torch

from bilateral.controllers import Bilateral
from bilateral.differentiable import JacobianStepper, run_closed_loop
from bilateral.methods.distal import Objective, TrainConfig
from bilateral.routing import routed_backward
from bilateral_envs import ArmBatch, RandomReach


@pytest.mark.parametrize(
    ("callosum", "cell"), [(None, "dense"), ("paper", "dense"), ("learned", "dense"), (None, "gru"), ("paper", "gru")]
)
def test_each_hemisphere_learns_from_its_own_loss_only(callosum, cell):
    task = RandomReach()
    trials = task.draw(np.random.default_rng(0), 3, 6)
    torch.manual_seed(0)
    model = Bilateral(6, 2, callosum, output_bias=-1.0, cell=cell)
    if callosum == "learned":
        with torch.no_grad():
            for layer in [*model.left.callosum, *model.right.callosum]:
                layer.weight.normal_(0, 0.3)
    objective = Objective(TrainConfig(variant="bi-spec-cc" if callosum else "bi-spec", width=6))
    arms = ArmBatch(task, 3)
    stepper = JacobianStepper(task.arm.model, 3, hand_body=task.arm.hand_body)

    def losses():
        run = run_closed_loop(model, arms, stepper, trials)
        return objective(run.trajectory)[0]

    separately = []
    for which in (0, 1):
        model.zero_grad()
        losses()[which].backward()
        separately.append({n: p.grad.clone() for n, p in model.named_parameters()})
    model.zero_grad()
    left, right = losses()
    routed_backward(model, left, right)

    owners = set()
    for name, p in model.named_parameters():
        owner = model.owner(name)
        owners.add(owner)
        expected = {
            "left": separately[0][name],
            "right": separately[1][name],
            "shared": 0.5 * (separately[0][name] + separately[1][name]),
        }[owner]
        torch.testing.assert_close(p.grad, expected, rtol=1e-6, atol=1e-12)
    assert owners == {"left", "right", "shared"}
    # and the routing is not the plain sum: the two losses really pull differently
    name = "left.layers.0.weight" if cell == "dense" else "left.layers.0.weight_ih"
    assert not torch.allclose(separately[0][name], separately[0][name] + separately[1][name])
