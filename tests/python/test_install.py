# SPDX-License-Identifier: MIT
"""`meson install` installs the package: the extension and the Python files
land together in /usr/bin/python3's platlib (under a temporary DESTDIR
here), the module needs no libshmetrics.so, and the installed copy imports
and counts."""

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import new_arena_path, run_python


def test_meson_install_installs_the_module():
    build = os.environ.get("SHMETRICS_BUILD_ROOT")
    meson = shutil.which("meson")
    if not build or not meson:
        pytest.skip("SHMETRICS_BUILD_ROOT or meson missing (run through meson test)")
    with tempfile.TemporaryDirectory(prefix="shmetrics-install-") as dest:
        r = subprocess.run([meson, "install", "-C", build, "--no-rebuild", "--destdir", dest],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        inits = glob.glob(os.path.join(dest, "**", "shmetrics", "__init__.py"), recursive=True)
        assert len(inits) == 1, inits
        pkg = os.path.dirname(inits[0])
        exts = glob.glob(os.path.join(pkg, "_shmetrics*.so"))
        assert len(exts) == 1 and sorted(os.listdir(pkg)) == sorted(
            ["__init__.py", "__main__.py", "registry.py", "metrics.py", "context_managers.py", "sets.py",
             "samples.py", "metrics_core.py", "collectors.py", "exposition.py", "callbacks.py",
             "process_collectors.py", "activate.py", "run.py", "pusher.py", "escaping.py", "gateway.py",
             "prometheus_client", "_shim",
             os.path.basename(exts[0])])
        assert sorted(os.listdir(os.path.join(pkg, "prometheus_client", "openmetrics"))) == [
            "__init__.py", "exposition.py"]
        site = os.path.dirname(pkg)
        ldd = subprocess.run(["ldd", exts[0]], capture_output=True, text=True).stdout
        assert "libshmetrics" not in ldd
        arena = new_arena_path("install")
        try:
            r = run_python(
                "import shmetrics, sys\n"
                f"assert shmetrics.__file__.startswith({pkg!r}), shmetrics.__file__\n"
                "c = shmetrics.Counter('installed_total', 'Installed.')\nc.inc(3)\n"
                "print(shmetrics.REGISTRY.get_sample_value('installed_total'))",
                env={"PYTHONPATH": site, "SHMETRICS_ARENA": arena},
            )
            assert r.stdout.strip() == "3.0", r.stdout + r.stderr
            # The installed shim directory turns prometheus_client into shmetrics'.
            r = run_python("import prometheus_client.multiprocess as m; print(m.__name__)",
                           env={"PYTHONPATH": os.path.join(pkg, "_shim") + os.pathsep + site})
            assert r.stdout.strip() == "shmetrics.prometheus_client.multiprocess", r.stdout + r.stderr
            # The environment switch: the .pth file of the site directory
            # (site.addsitedir reads it, as the interpreter does at start).
            assert os.path.isfile(os.path.join(site, "shmetrics-prometheus-client.pth"))
            probe = f"import site; site.addsitedir({site!r}); import prometheus_client as p; print(p.__name__)"
            for switch, name in (("1", "shmetrics.prometheus_client"), ("0", "prometheus_client")):
                r = run_python(probe, env={"PYTHONPATH": site, "SHMETRICS_PROMETHEUS_CLIENT": switch})
                assert r.stdout.strip() == name, r.stdout + r.stderr
        finally:
            if os.path.exists(arena):
                os.unlink(arena)
