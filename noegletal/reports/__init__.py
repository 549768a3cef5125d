"""Reports: parameterised notebooks rendered in batch to HTML and PDF (DESIGN.md, "Reports").

The contract between a report notebook (`notebooks/<rapport>.ipynb`) and the batch runner:

Parameters
    One code cell tagged `parameters`, one assignment per line, preferably annotated
    (`kommunekode: int = 101`); without an annotation the type of the default value counts.
    Every notebook declares `periode: str` and `db: str` (absolute path of the database, read it
    read-only); reports per municipality also declare `kommunekode: int`. The round settings
    `peer_metode: str`, `peer_antal: int`, `peer_klynger: int`, `peer_vaegte: dict`,
    `benchmark: str` and `anonymiser: bool` (see `params.RoundSettings`) are passed to a notebook
    only when its parameters cell declares them; `temadag` must declare `anonymiser`. Any other value a notebook
    needs comes from the round file (`rapporter: {navn: {parametre: {...}}}`) and must be declared,
    with the declared type — an unknown or mistyped parameter stops the batch before it starts.

Title and cover
    The runner puts the title (from the report registry), period, municipality, definitions
    version, data as of and package version in the HTML header and on the PDF cover. A notebook
    may set its own title and a subtitle by calling `meta(titel=..., undertitel=...)`; do not repeat
    the title as a heading in the notebook.

What ends up in the report
    Markdown cells and the outputs of code cells (tables, figures as PNG, text); never code,
    prompts or anything written to stderr. A cell tagged `skjul` is left out entirely. An
    exception fails the report (it is kept under `_fejlede/` for debugging).

Warm kernels
    Kernels are reused between reports. Before each report the runner clears the namespace
    (`%reset -f`), closes figures and restores matplotlib's rcParams and backend, pandas options,
    numpy print options and warning filters to their state after kernel start. A notebook must not
    rely on other global state (environment variables, sys.path, unseeded random numbers): seed
    its random generators so that a report is the same in a warm and in a fresh kernel.
"""

from __future__ import annotations

META_MIMETYPE = "application/vnd.noegletal.meta+json"


def meta(*, titel: str | None = None, undertitel: str | None = None) -> None:
    """Set the report's title and/or subtitle from inside a notebook (shown in header and on the cover)."""
    from IPython.display import display

    data = {key: value for key, value in (("titel", titel), ("undertitel", undertitel)) if value is not None}
    display({META_MIMETYPE: data}, raw=True)


# -- inside the runner's kernels ---------------------------------------------------------------------
# Every kernel runs `_kernel_setup()` once after it starts and `_kernel_reset(cwd)` before each report,
# in a warm kernel and in a fresh one alike, so both start a report from the same state. The baseline
# lives here, in a module, because `%reset -f` clears the user namespace but not imported modules.
_baseline: dict = {}


def _kernel_setup() -> None:
    """Import what every report needs (warm) and record the state reports must start from."""
    import gc

    import matplotlib
    import numpy as np
    import pandas as pd
    from IPython import get_ipython

    # the inline backend with its PNG display of Figure objects, registered now (not at the first
    # figure), so it survives a notebook switching backends, e.g. with matplotlib.use("Agg")
    get_ipython().run_line_magic("matplotlib", "inline")
    _baseline["rc"] = {k: v for k, v in matplotlib.rcParams.items() if k not in ("backend", "backend_fallback")}
    _baseline["numpy"] = np.get_printoptions()
    _baseline["pandas"] = {key: pd.get_option(key) for key in _pandas_options(pd.options, ("display", "styler"))}
    gc.collect()
    gc.freeze()  # the imported modules: never scanned again by the collections between reports


def _pandas_options(node, names, prefix: str = "") -> list[str]:
    """The full keys of pandas options under `names` (the ones that change how tables look)."""
    keys = []
    for name in names:
        child = getattr(node, name)
        if isinstance(child, type(node)):  # a namespace such as display.html
            keys += _pandas_options(child, dir(child), f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def _kernel_reset(cwd: str) -> None:
    """Close figures and restore matplotlib, numpy and pandas display state (the runner then runs `%reset -f`)."""
    import os
    import warnings

    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from IPython import get_ipython

    plt.close("all")
    get_ipython().run_line_magic("matplotlib", "inline")  # backend and figure display as after setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated rcParams warn when set, even to their own value
        matplotlib.rcParams.update(_baseline["rc"])
    np.set_printoptions(**_baseline["numpy"])
    for key, value in _baseline["pandas"].items():
        pd.set_option(key, value)
    os.chdir(cwd)
