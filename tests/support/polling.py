"""The tests' and benchmarks' one way of waiting for a condition without a
timed assertion: poll it until it holds or a deadline passes."""

import time


def poll_until(predicate, timeout, step=0.05):
    """predicate()'s first truthy value within timeout seconds, else its
    value at the deadline (falsy): the caller decides what a miss means."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
