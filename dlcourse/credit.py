"""A SYNTHETIC credit-grade data set: a stand-in for the lecture's Lending Club example.

The lecture classified Lending Club loans (a Kaggle data set that cannot be downloaded
here) into credit grades A-G from borrower features. :func:`make_credit_data` generates a
data set with the same shape of problem. **Every number in it is simulated**: no real
borrower, lender or loan is behind any row, and nothing learned from it says anything
about real credit markets.

How a row is made:

1. Borrower features are drawn from simple, loosely realistic marginal distributions
   (FICO score around 700, log-normal incomes, a debt-to-income ratio in per cent, ...),
   with a few dependences (richer borrowers ask for larger loans and tend to have higher
   FICO scores and more credit lines).
2. A latent risk score is a fixed function of the features plus Gaussian noise; higher
   score = riskier borrower. The function is deliberately non-linear (a kink in the FICO
   effect, a utilisation threshold, a debt-burden x utilisation interaction), so a
   network can do better than a linear (multinomial logit) classifier.
3. The grade is the score cut at fixed thresholds, chosen so that the grade shares look
   like a consumer-lending book: many B and C loans, few F and G loans. The imbalance
   makes the "always predict the most common grade" baseline a meaningful yardstick.
"""

import numpy as np
import pandas as pd

GRADES = ("A", "B", "C", "D", "E", "F", "G")
"""The seven grades, best (least risky) first."""

FEATURES = (
    "fico",
    "annual_income",
    "dti",
    "revol_util",
    "open_credit_lines",
    "loan_amount",
    "emp_length",
    "term_60",
    "delinq_2yrs",
    "inq_last_6mths",
    "home_owner",
)
"""Names of the borrower-feature columns, in DataFrame order (``grade`` comes last)."""

# Approximate grade shares the thresholds aim for (A ... G); the realised shares vary a
# little with the sample. Roughly the shape of a consumer-lending portfolio.
TARGET_SHARES = (0.18, 0.29, 0.27, 0.14, 0.08, 0.03, 0.01)

# Standard deviation of the idiosyncratic noise in the latent score. With the
# systematic part scaled to unit variance this caps the attainable accuracy well
# below 100 %: grades are a noisy function of the observed features.
NOISE_SD = 0.35

# Cut points on the latent score (A | B | ... | G), calibrated once on a large sample
# (2 million rows) with the formula in ``_latent_score`` so that grade shares are close to
# TARGET_SHARES. Fixed numbers, so the grade of a row never depends on the sample size.
_THRESHOLDS = np.array([-0.5991, 0.0889, 0.6746, 1.1467, 1.8135, 2.8592])


def _draw_features(n, rng):
    """Borrower features as a dict of 1-D arrays of length ``n``."""
    # A common "creditworthiness" factor links income, FICO and credit history.
    quality = rng.standard_normal(n)

    log_income = np.log(65_000) + 0.5 * (0.5 * quality + np.sqrt(0.75) * rng.standard_normal(n))
    annual_income = np.clip(np.exp(log_income), 12_000, 500_000).round(-2)

    fico = 700 + 35 * (0.7 * quality + np.sqrt(0.51) * rng.standard_normal(n))
    fico = np.clip(fico, 600, 850).round()

    dti = np.clip(18 + 8 * rng.standard_normal(n) - 2.0 * quality, 0, 45).round(1)
    revol_util = np.clip(50 + 22 * rng.standard_normal(n) - 8 * quality, 0, 100).round(1)

    open_credit_lines = np.clip(rng.poisson(np.exp(2.3 + 0.15 * quality)), 1, 40)

    # Loan size grows with income; Lending-Club-like range 1,000 to 40,000.
    loan_amount = annual_income * np.exp(-1.6 + 0.45 * rng.standard_normal(n))
    loan_amount = (np.clip(loan_amount, 1_000, 40_000) / 25).round() * 25

    emp_length = np.clip(rng.poisson(5.5, size=n), 0, 10)
    term_60 = (rng.random(n) < 1 / (1 + np.exp(-(-1.3 + 3e-5 * (loan_amount - 12_000))))).astype(
        int
    )
    delinq_2yrs = np.clip(rng.poisson(np.exp(-1.6 - 0.4 * quality)), 0, 10)
    inq_last_6mths = np.clip(rng.poisson(np.exp(-0.3 - 0.2 * quality)), 0, 8)
    home_owner = (
        rng.random(n) < 1 / (1 + np.exp(-(0.2 * quality + 0.02 * (emp_length - 5))))
    ).astype(int)

    return {
        "fico": fico.astype(int),
        "annual_income": annual_income,
        "dti": dti,
        "revol_util": revol_util,
        "open_credit_lines": open_credit_lines.astype(int),
        "loan_amount": loan_amount,
        "emp_length": emp_length.astype(int),
        "term_60": term_60,
        "delinq_2yrs": delinq_2yrs.astype(int),
        "inq_last_6mths": inq_last_6mths.astype(int),
        "home_owner": home_owner,
    }


def _systematic_score(f):
    """The part of the latent risk that the features explain (roughly unit variance).

    Mostly monotone effects, with the kinks and interactions that make credit scoring
    non-linear: risk rises steeply below a FICO score of about 680, utilisation hurts
    mainly above 80 %, and a high debt-to-income ratio hurts more when credit lines are
    already maxed out.
    """
    fico_z = (f["fico"] - 700) / 35
    dti_z = (f["dti"] - 18) / 8
    util = f["revol_util"] / 100
    return (
        -0.55 * fico_z
        - 0.80 * np.minimum(fico_z + 0.6, 0) ** 2  # very low scores are extra risky
        + 0.15 * dti_z
        + 0.50 * dti_z * (util - 0.5) * 4  # debt burden x maxed-out credit
        + 1.50 * np.maximum(util - 0.8, 0) / 0.2  # utilisation above 80 %
        + 0.30 * np.log(f["loan_amount"] / f["annual_income"] / 0.2)
        + 0.35 * f["term_60"]
        + 0.45 * (f["delinq_2yrs"] > 0)
        + 0.12 * f["inq_last_6mths"]
        - 0.03 * (f["emp_length"] - 5)
        - 0.08 * f["home_owner"]
        - 0.02 * (f["open_credit_lines"] - 10)
    )


def _latent_score(f, rng):
    return _systematic_score(f) + NOISE_SD * rng.standard_normal(len(f["fico"]))


def make_credit_data(n=20_000, seed=0):
    """Simulate ``n`` SYNTHETIC loans with borrower features and a credit grade A-G.

    This is not real data. It imitates the structure of the Lending Club grade
    classification from the lecture (which cannot be downloaded here): tabular borrower
    features, seven ordered grades, strong class imbalance, and grades that are only a
    noisy function of the features.

    Parameters
    ----------
    n : int
        Number of loans (rows).
    seed : int
        Seed for ``numpy.random.default_rng``; the same ``(n, seed)`` gives the same frame.

    Returns
    -------
    pandas.DataFrame
        One row per loan. Columns (see :data:`FEATURES`):

        ``fico``               FICO score, integer, 600-850
        ``annual_income``      annual income in dollars, 12,000-500,000
        ``dti``                debt-to-income ratio in per cent, 0-45
        ``revol_util``         revolving credit utilisation in per cent, 0-100
        ``open_credit_lines``  number of open credit lines, 1-40
        ``loan_amount``        requested amount in dollars, 1,000-40,000
        ``emp_length``         years of employment, 0-10 (10 means 10 or more)
        ``term_60``            1 for a 60-month loan, 0 for 36 months
        ``delinq_2yrs``        delinquencies in the past two years, 0-10
        ``inq_last_6mths``     credit inquiries in the past six months, 0-8
        ``home_owner``         1 if the borrower owns a home
        ``grade``              credit grade, a string ``"A"`` (best) to ``"G"`` (worst)
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    rng = np.random.default_rng(seed)
    features = _draw_features(int(n), rng)
    score = _latent_score(features, rng)
    grade_index = np.searchsorted(_THRESHOLDS, score)
    frame = pd.DataFrame(features, columns=list(FEATURES))
    frame["grade"] = np.asarray(GRADES)[grade_index]
    return frame


def grade_codes(grades):
    """Map grade letters ``"A"``-``"G"`` to integers 0-6 (a NumPy int array)."""
    lookup = {g: i for i, g in enumerate(GRADES)}
    return np.array([lookup[g] for g in grades], dtype=int)
