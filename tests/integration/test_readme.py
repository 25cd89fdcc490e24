"""The README's promises that code can check: the asset graph diagram and the make verbs."""

import re

import dagster as dg
import pytest

from orchestration.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def mermaid_graph() -> tuple[dict[str, str], list[tuple[str, str]]]:
    block = re.search(r"```mermaid\n(.*?)```", README, re.S).group(1)
    labels = dict(re.findall(r'(\w+)\["([^"]+)"\]', block))
    edges = re.findall(r"^\s*(\w+) --> (\w+)\s*$", block, re.M)
    return labels, edges


@pytest.fixture(scope="module")
def graph(definitions):
    return definitions.resolve_asset_graph()


def test_every_node_in_the_diagram_is_an_asset(graph):
    labels, _ = mermaid_graph()
    keys = {key.to_user_string() for key in graph.materializable_asset_keys}
    assert set(labels.values()) <= keys


def test_every_edge_in_the_diagram_is_a_dependency(graph):
    labels, edges = mermaid_graph()
    assert edges
    for upstream, downstream in edges:
        parent = dg.AssetKey(labels[upstream].split("/"))
        child = dg.AssetKey(labels[downstream].split("/"))
        assert parent in graph.get(child).parent_keys, (
            f"README edge {labels[upstream]} --> {labels[downstream]}"
        )


def test_every_python_asset_is_in_the_diagram_or_named_in_the_text(graph):
    labels, _ = mermaid_graph()
    for key in graph.materializable_asset_keys:
        name = key.to_user_string()
        if name.startswith(("staging/", "features/")):
            continue  # dbt models: the diagram shows the churn path; docs/features.md has the rest
        assert name in labels.values() or f"`{name}`" in README, f"README never mentions {name}"


def test_readme_names_the_make_verbs_that_exist():
    makefile = (REPO_ROOT / "Makefile").read_text()
    for verb in re.findall(r"make (\w+)", README):
        assert re.search(rf"^{verb}:", makefile, re.M), (
            f"README mentions `make {verb}`, the Makefile has no such target"
        )
