"""Experiments, in three parts, each printing its table:

1. a known lift pushed through the HTTP API (benchmarks/experiments_lift.py): the detected lift
   and its interval, the p-values, the request rate sustained, and the serving rate with
   exposure logging on against off;
2. peeking (benchmarks/experiments_peeking.py): 2,000 simulated A/A experiments looked at 20
   times, the false-positive rate of the fixed-horizon p-value against the always-valid one;
3. sensitivity (benchmarks/experiments_sensitivity.py): on MovieLens-100K, the users an A/B
   test and an interleaving test need to tell two real rankers apart.

Each part also runs alone (`python -m benchmarks.experiments_lift --help`, ...).
"""

import argparse
import sys

from benchmarks import experiments_lift, experiments_peeking, experiments_sensitivity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", default="1,2,3", help="which parts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="small runs, to see that everything works")
    args = parser.parse_args()
    parts = {part.strip() for part in args.parts.split(",")}
    quick = {
        "1": ["--users", "2000", "--exposures", "2", "--rounds", "2", "--turn-seconds", "2"],
        "2": ["--experiments", "100"],
        "3": ["--repetitions", "20"],
    }
    runs = {"1": experiments_lift.main, "2": experiments_peeking.main, "3": experiments_sensitivity.main}
    titles = {
        "1": "a known lift, over HTTP",
        "2": "peeking: A/A experiments",
        "3": "sensitivity: A/B against interleaving",
    }
    for part in sorted(parts & set(runs)):
        print(f"\n== part {part}: {titles[part]} ==", flush=True)
        runs[part](quick[part] if args.quick else [])


if __name__ == "__main__":
    sys.exit(main())
