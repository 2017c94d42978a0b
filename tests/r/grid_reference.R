# Reference values of the matching-settings grid test (tests/test_weighting.py), R 4.2.2, MatchIt 4.5.1,
# survival 3.5-3, on R's lung data (tests/data/lung.csv): "treatment" sex == 2, propensity model on the ECOG
# score (0, 1, 2+) and an age group, as tests/r/weighting_reference.R.
#   Rscript tests/r/grid_reference.R
# Two cells: 1:1 within 0.1 SD with distances compared exactly (the distance scaled by a power of two, as
# tests/r/matchit_nearest.R "exact" does: the project's emulate = "matchit-4.5.1"), and 3:1 without a caliper
# by the plain call (this build's integer abs(): emulate = "matchit-4.5.1-int-abs").
suppressPackageStartupMessages({library(survival); library(MatchIt)})
p <- function(...) print(c(...), digits = 15)
lung <- read.csv("tests/data/lung.csv")
lung <- lung[!is.na(lung$ph.ecog), ]
lung$ecog <- factor(ifelse(lung$ph.ecog >= 2, "2+", as.character(lung$ph.ecog)))
lung$age_group <- factor(ifelse(lung$age < 60, "under60", ifelse(lung$age < 70, "60to69", "70plus")))
lung$treat <- as.integer(lung$sex == 2)
f <- treat ~ ecog + age_group
cell <- function(ratio, caliper, exact) {
  m <- matchit(f, data = lung, method = "nearest", distance = "glm", link = "linear.logit", ratio = ratio,
               caliper = caliper, std.caliper = TRUE, replace = FALSE)
  if (exact) {
    K <- 2^floor(log2(2^30 / diff(range(m$distance))))
    m <- matchit(f, data = lung, method = "nearest", distance = m$distance * K, ratio = ratio, caliper = caliper,
                 std.caliper = TRUE, replace = FALSE)
  }
  s <- summary(m)$sum.matched
  d <- match.data(m)
  fit <- coxph(Surv(time, status) ~ treat, data = d)
  p(table(d$treat), sum(lung$treat) - sum(d$treat), max(abs(s[rownames(s) != "distance", "Std. Mean Diff."])),
    coef(fit), sqrt(diag(fit$var)))
}
cell(1, 0.1, TRUE)
cell(3, NULL, FALSE)
