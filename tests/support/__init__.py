"""What the tests and the benchmark share: the server runner, threads, the frozen clock.

``server``: ``taler-inventory serve`` as a child process on a free loopback port;
``threads``: N threads started at once on a barrier; ``clock``: time frozen at a whole
second and tokens minted on it.  The benchmark (``bench/``) imports these too, so
that a test and a measurement start, wait for and stop the server the same way.
"""
