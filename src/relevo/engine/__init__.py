"""The recommendation engine: a pure library (numpy, scipy, implicit, scikit-learn) that knows
nothing of the web or the database. Data in, recommenders out, scores and evaluation."""
