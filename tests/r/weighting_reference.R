# Reference values of tests/test_weighting.py (R 4.2.2, survival 3.5-3, MatchIt 4.5.1): inverse probability of
# treatment weights computed by formula from glm's fitted values (WeightIt is not installable), on R's lung data
# (tests/data/lung.csv, exported by tests/r/robustness_reference.R): "treatment" sex == 2, propensity model on
# the ECOG score (0, 1, 2+) and an age group.
#   Rscript tests/r/weighting_reference.R
# and the matching-settings grid: two cells, 1:1 within 0.1 SD with distances compared exactly (the distance
# scaled by a power of two, as tests/r/matchit_nearest.R "exact" does: the project's emulate = "matchit-4.5.1"),
# and 3:1 without a caliper by the plain call (this build's integer abs(): emulate = "matchit-4.5.1-int-abs").
suppressPackageStartupMessages({library(survival); library(MatchIt)})
p <- function(...) print(c(...), digits = 15)
lung <- read.csv("tests/data/lung.csv")
lung <- lung[!is.na(lung$ph.ecog), ]
lung$ecog <- factor(ifelse(lung$ph.ecog >= 2, "2+", as.character(lung$ph.ecog)))
lung$age_group <- factor(ifelse(lung$age < 60, "under60", ifelse(lung$age < 70, "60to69", "70plus")))
lung$treat <- as.integer(lung$sex == 2)
ps <- fitted(glm(treat ~ ecog + age_group, family = binomial, data = lung))
pt <- mean(lung$treat)
W <- list(ATT = ifelse(lung$treat == 1, 1, ps / (1 - ps)),
          ATE = ifelse(lung$treat == 1, pt / ps, (1 - pt) / (1 - ps)))
denom <- c(ATT = "treated", ATE = "pooled")
p(head(ps, 3))
for (est in names(W)) {
  lung$w <- W[[est]]
  cat(est, "\n")
  for (g in 1:0) { x <- lung$w[lung$treat == g]; p(quantile(x), sum(x), sum(x)^2 / sum(x^2)) }
  # standardized mean differences of each level's dummy: MatchIt's summary, s.d.denom of the estimand
  for (v in c("ecog", "age_group")) for (l in levels(lung[[v]]))
    p(MatchIt:::bal1var(as.numeric(lung[[v]] == l), lung$treat, lung$w, s.weights = rep(1, nrow(lung)),
                        s.d.denom = denom[[est]], standardize = TRUE)[3])
  s <- summary(survfit(Surv(time, status) ~ treat, data = lung, weights = w, conf.type = "log-log"),
               times = c(180, 365, 730))
  print(cbind(s$n.risk, s$surv, s$std.err, s$lower, s$upper), digits = 15)
  f <- coxph(Surv(time, status) ~ treat, data = lung, weights = w, robust = TRUE)
  p(coef(f), sqrt(diag(f$var)), sqrt(diag(f$naive.var)), summary(f)$coefficients[, "Pr(>|z|)"])
}
# the matching-settings grid
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
