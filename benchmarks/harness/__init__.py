"""What every benchmark shares.

* :mod:`.env`: the git commit, package versions and hardware a record carries.
* :mod:`.records`: JSON-lines records, protocol hashes, and which records a resumed run may
  keep.
* :mod:`.runner`: a process pool of jobs, each with its own number of torch threads, that
  appends every result to a records file as soon as it finishes.
* :mod:`.report`: markdown tables of mean ± std over seeds, paired differences to a baseline
  arm with Student's *t* intervals, and the marked sections of ``benchmarks/README.md`` they
  are written into.
"""
