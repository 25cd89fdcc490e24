from ingestion.contracts_doc import DOC_PATH, render_markdown


def test_docs_contracts_md_matches_the_contracts():
    assert DOC_PATH.read_text() == render_markdown(), (
        "run `python -m ingestion.contracts_doc` to refresh docs/contracts.md"
    )


def test_every_column_is_documented():
    text = render_markdown()
    from ingestion.contracts import ALL_CONTRACTS

    for contract in ALL_CONTRACTS:
        assert f"## `{contract.name}`" in text
        for column in contract.columns:
            assert f"| `{column.name}` |" in text


def test_readme_contracts_table_matches_the_contracts():
    from ingestion.contracts_doc import README_PATH, readme_with_summary

    readme = README_PATH.read_text()
    assert readme == readme_with_summary(readme), (
        "run `python -m ingestion.contracts_doc` to refresh the README"
    )
