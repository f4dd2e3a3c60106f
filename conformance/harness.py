"""What every local conformance script shares: checks register themselves with @check(name), and a
crash inside one check fails that check only."""
RESULTS = []  # (name, passed, why)
CHECKS = []


def check(name):
    def wrap(fn):
        def run(ctx):
            try:
                fn(ctx)
                RESULTS.append((name, True, ""))
            except AssertionError as e:
                RESULTS.append((name, False, str(e)[:300]))
            except Exception as e:  # noqa: BLE001 - a crash in a check is a failure of that check
                RESULTS.append((name, False, f"{type(e).__name__}: {e}"[:300]))
        run.check_name = name
        CHECKS.append(run)
        return run
    return wrap
