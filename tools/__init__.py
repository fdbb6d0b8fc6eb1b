"""Release and docs tools: `python -m tools.report` renders the docs tables from the
benches' JSON, `python -m tools.bundle` trains and writes the weights that ship in the
package."""
