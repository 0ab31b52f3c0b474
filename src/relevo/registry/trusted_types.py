"""The types a skops file may hold beyond those skops trusts itself: kept here, in Relevo's
code, and never read from an upload.

skops trusts scikit-learn's estimators, numpy's and scipy's arrays and ufuncs and Python's
plain containers; a fitted regressor also holds a few objects of its own that skops leaves to
the loader to trust. These are those of the regressors a shop fits to predict a customer's
value: linear models and generalised linear models (their losses), decision trees, random
forests and extra trees, gradient boosting, histogram gradient boosting, ensembles that keep
their members in a Bunch, and pipelines of scalers, imputers and transformers before them.
Anything else found in a file (a function such as `os.system`, a class of the shop's own) is
refused by name, and loading is never tried.
"""

TRUSTED_TYPES: tuple[str, ...] = (
    # Decision trees, random forests, extra trees, gradient boosting, AdaBoost, bagging.
    "sklearn.tree._tree.Tree",
    # Histogram gradient boosting.
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    # The losses generalised linear models and boosting keep.
    "sklearn._loss.loss.AbsoluteError",
    "sklearn._loss.loss.HalfGammaLoss",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfSquaredError",
    "sklearn._loss.loss.HalfTweedieLoss",
    "sklearn._loss.loss.HalfTweedieLossIdentity",
    "sklearn._loss.loss.HuberLoss",
    "sklearn._loss.loss.PinballLoss",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.link.Interval",
    # Voting and stacking regressors keep their fitted members in a Bunch.
    "sklearn.utils._bunch.Bunch",
    # Transformers that record their dtype (imputers, quantile and power transforms).
    "numpy.dtype",
)
