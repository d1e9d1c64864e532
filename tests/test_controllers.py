"""Controllers: shapes, the callosum, lesions, parameter ownership."""

import pytest
import torch

from bilateral.controllers import Bilateral, Unilateral, build_controller, paper_callosum


def obs(batch=5, seed=0):
    return torch.randn(batch, 16, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    "model",
    [
        Unilateral(10, 2),
        Bilateral(10, 2),
        Bilateral(10, 3, "paper"),
        Bilateral(8, 2, "learned"),
        Unilateral(10, 2, cell="gru"),
        Bilateral(10, 2, "paper", cell="gru"),
    ],
)
def test_outputs_are_excitations(model):
    out = model(obs())
    assert out.excitation.shape == (5, 6)
    assert torch.all((out.excitation > 0) & (out.excitation < 1))
    # initialised near rest: a negative output bias keeps excitations low (DESIGN §5)
    assert out.excitation.mean() < 0.2


def test_unilateral_has_as_many_hidden_units_as_the_bilateral_model():
    uni, bi = Unilateral(10, 2), Bilateral(10, 2)
    assert uni(obs()).hidden.shape == bi(obs()).hidden.shape == (5, 20)
    assert [h.shape[-1] for h in bi(obs()).layers["left"]] == [5, 5]


def test_paper_callosum_pools_and_pads_on_the_left():
    x = torch.tensor([[1.0, 5.0, 3.0, 2.0, 4.0]])
    assert paper_callosum(x).tolist() == [[0.0, 0.0, 0.0, 5.0, 3.0]]
    x = torch.tensor([[1.0, -2.0, 0.5, 0.25, 3.0, 7.0]])
    assert paper_callosum(x).tolist() == [[0.0, 0.0, 0.0, 1.0, 0.5, 7.0]]


@pytest.mark.parametrize("callosum", ["paper", "learned"])
def test_callosum_lets_activity_cross_and_a_cc_lesion_cuts_it(callosum):
    torch.manual_seed(0)
    model = Bilateral(10, 2, callosum)
    if callosum == "learned":  # starts closed: open it
        with torch.no_grad():
            for layer in model.left.callosum:
                layer.weight.normal_()
    x = obs()
    before = model(x).layers["left"][1]
    with torch.no_grad():
        model.right.layers[0].weight.add_(1.0)  # change only the right hemisphere's first layer
    after = model(x).layers["left"][1]
    assert not torch.allclose(before, after)  # the left hemisphere saw it
    with model.lesioned("cc"):
        cut = model(x).layers["left"][1]
    no_callosum = Bilateral(10, 2, None)
    no_callosum.load_state_dict({k: v for k, v in model.state_dict().items() if "callosum" not in k}, strict=False)
    assert torch.allclose(cut, no_callosum(x).layers["left"][1])


def test_without_callosum_the_hemispheres_are_independent():
    model = Bilateral(10, 2, None)
    x = obs()
    before = model(x).layers["left"]
    with torch.no_grad():
        model.right.layers[0].weight.add_(1.0)
    after = model(x).layers["left"]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_lesions_act_at_evaluation_without_touching_weights():
    torch.manual_seed(1)
    model = Bilateral(10, 2, "paper")
    x = obs()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    w = model.hemisphere_weights.detach()
    intact = model(x)
    with model.lesioned("low-left"):
        out = model(x)
    expected = torch.sigmoid(model.output(w[1] * out.layers["right"][-1]))
    assert torch.allclose(out.excitation, expected)
    with model.lesioned("high-right"):
        out = model(x)
    zero_in = model.right.layers[0](torch.zeros_like(x))
    assert torch.allclose(out.layers["right"][0], torch.tanh(zero_in))
    with model.lesioned("high-left"), torch.no_grad():
        assert not torch.allclose(model(x).excitation, intact.excitation)
    assert model.lesion is None
    for k, v in model.state_dict().items():
        assert torch.equal(v, weights[k])
    assert torch.allclose(model(x).excitation, intact.excitation)
    with pytest.raises(ValueError, match="lesions"):
        model.lesion = "left"
    with pytest.raises(ValueError, match="lesions"):
        Unilateral().lesion = "cc"


def test_hemisphere_weights_start_at_half_and_stay_positive():
    model = Bilateral()
    assert torch.allclose(model.hemisphere_weights, torch.tensor([0.5, 0.5]))
    with torch.no_grad():
        model.raw_hemisphere_weights.fill_(-50.0)
    assert torch.all(model.hemisphere_weights >= 0)


def test_unilateral_weights_saved_before_the_stack_was_renamed_still_load():
    saved = Unilateral(width=4, depth=2)
    old = {key.replace("stack.", "hidden.", 1): value for key, value in saved.state_dict().items()}
    assert any(key.startswith("hidden.") for key in old)
    loaded = Unilateral(width=4, depth=2)
    loaded.load_state_dict(old)
    for key, value in saved.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_parameter_ownership():
    model = Bilateral(8, 3, "learned")
    owners = {name: model.owner(name) for name, _ in model.named_parameters()}
    assert owners["left.layers.0.weight"] == "left"
    assert owners["right.callosum.1.weight"] == "right"  # a learned callosum belongs to its receiver
    assert owners["raw_hemisphere_weights"] == owners["output.weight"] == "shared"
    assert {model.owner(n) for n, _ in Unilateral().named_parameters()} == {"shared"}


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="even"):
        Bilateral(9)
    with pytest.raises(ValueError, match="callosum"):
        Bilateral(10, 2, "telepathy")
    with pytest.raises(ValueError, match="structure"):
        build_controller("trilateral", 10, 2)
    with pytest.raises(ValueError, match="no callosum"):
        build_controller("unilateral", 10, 2, callosum="paper")


@pytest.mark.parametrize("structure", ["unilateral", "bilateral"])
def test_a_gru_controller_remembers_and_starts_from_zero(structure):
    torch.manual_seed(0)
    model = build_controller(structure, 10, 2, cell="gru")
    assert model.recurrent and not build_controller(structure, 10, 2).recurrent
    x = obs()
    first = model(x)
    zero = {name: [torch.zeros_like(h) for h in layers] for name, layers in first.layers.items()}
    torch.testing.assert_close(model(x, zero).excitation, first.excitation)  # no state = a zero state
    second = model(x, first.layers)
    assert not torch.allclose(second.excitation, first.excitation)  # the same input, another answer
    assert sum(p.numel() for p in model.parameters()) > sum(
        p.numel() for p in build_controller(structure, 10, 2).parameters()
    )
    assert first.hidden.shape == (5, 20)  # the same units as a dense controller


def test_gru_lesions_keep_their_meaning():
    torch.manual_seed(0)
    model = Bilateral(10, 2, "paper", cell="gru")
    x = obs()
    state = model(x).layers
    with model.lesioned("low-left"):
        out = model(x, state)
    assert torch.all(out.layers["left"][-1] != 0)  # the hemisphere still runs: only its output is cut
    with model.lesioned("low-left"), torch.no_grad():
        model.left.layers[1].weight_hh.add_(1.0)  # whatever the left hemisphere does, nothing changes
        changed = model(x, state)
    torch.testing.assert_close(changed.excitation, out.excitation)


def test_unknown_cells_are_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"cell must be one of \['dense', 'gru'\], got 'lstm'"):
        build_controller("bilateral", 10, 2, cell="lstm")
