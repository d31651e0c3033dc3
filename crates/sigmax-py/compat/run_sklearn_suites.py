"""scikit-learn's own tests of LogisticRegression, LogisticRegressionCV and LinearSVC, run
against sigmax's classes (``sklearn_swap.py``): the test files are read from the installed
scikit-learn, never copied here. Prints, per suite, the tests that pass, those of them that
reached sigmax's compiled code, and every failure with its first line.

    python crates/sigmax-py/compat/run_sklearn_suites.py [--min LR,LRCV,LRCV_CALLS,SVC]

With ``--min`` it exits 1 when a suite passes fewer tests than given (CI's floor).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

SUITES = [
    # (name, swapped class, test module, only the tests that use the class)
    ("LogisticRegression", "LogisticRegression", "sklearn.linear_model.tests.test_logistic", False),
    ("LogisticRegressionCV", "LogisticRegressionCV", "sklearn.linear_model.tests.test_logistic", False),
    ("LinearSVC", "LinearSVC", "sklearn.svm.tests.test_svm", True),
]


def run(name, cls, module, only_users):
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        env = dict(os.environ, SIGMAX_SWAP=cls, PYTHONPATH=str(HERE) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        if only_users:
            env["SIGMAX_SWAP_ONLY_USERS"] = "1"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "sklearn_swap", "--pyargs", module,
             "-p", "no:cacheprovider", "-o", "junit_logging=no", f"--junitxml={report}",
             "-W", "ignore"],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        return parse(report)


def parse(report):
    import xml.etree.ElementTree as ET

    tests = []
    for case in ET.parse(report).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        failure = case.find("failure")
        if failure is None:
            failure = case.find("error")
        skipped = case.find("skipped") is not None
        tests.append({
            "name": f"{case.get('classname').rsplit('.', 1)[-1]}::{case.get('name')}",
            "passed": failure is None and not skipped,
            "skipped": skipped,
            "calls_sigmax": props.get("calls_sigmax") == "True",
            "why": "" if failure is None else (failure.get("message") or "").splitlines()[0][:160] if failure.get("message") else "",
        })
    return tests


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min", help="LR,LRCV,LRCV_CALLS,SVC: the least passes each suite must have")
    ap.add_argument("--json", help="write every test's outcome here")
    ap.add_argument("--failures", action="store_true", help="list every failure")
    args = ap.parse_args()
    results = {}
    for name, cls, module, only_users in SUITES:
        tests = run(name, cls, module, only_users)
        results[name] = tests
        passed = [t for t in tests if t["passed"]]
        calls = [t for t in passed if t["calls_sigmax"]]
        skipped = sum(t["skipped"] for t in tests)
        ran = len(tests) - skipped
        print(f"{name:22s} {len(passed):4d} of {ran:4d} pass ({skipped} more skipped by scikit-learn), "
              f"{len(calls)} of the passes call sigmax")
        if args.failures:
            for t in tests:
                if not t["passed"] and not t["skipped"]:
                    print(f"    FAIL {t['name']}: {t['why']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.min:
        lr, lrcv, lrcv_calls, svc = (int(v) for v in args.min.split(","))
        count = lambda name, calls=False: sum(t["passed"] and (t["calls_sigmax"] or not calls) for t in results[name])
        short = [
            f"{what}: {have} < {need}"
            for what, have, need in [
                ("LogisticRegression", count("LogisticRegression"), lr),
                ("LogisticRegressionCV", count("LogisticRegressionCV"), lrcv),
                ("LogisticRegressionCV calling sigmax", count("LogisticRegressionCV", True), lrcv_calls),
                ("LinearSVC", count("LinearSVC"), svc),
            ]
            if have < need
        ]
        if short:
            print("below the floor: " + "; ".join(short))
            sys.exit(1)


if __name__ == "__main__":
    main()
