# Reference values of tests/test_robustness.py (R 4.2.2, survival 3.5-3), on R's own data sets exported once:
#   Rscript tests/r/robustness_reference.R export   # writes tests/data/lung.csv and tests/data/veteran.csv
#   Rscript tests/r/robustness_reference.R          # prints the values the tests quote
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) && args[1] == "export") {
  l <- survival::lung[, c("inst", "time", "status", "age", "sex", "ph.ecog")]
  l$status <- l$status - 1                      # 1 = death, 0 = censored
  l$w <- 1 + (seq_len(nrow(l)) %% 3) / 2       # fixed, non-integer case weights: 1, 1.5, 2
  write.csv(l, "tests/data/lung.csv", row.names = FALSE, na = "")
  v <- survival::veteran[, c("trt", "celltype", "time", "status", "karno", "age")]
  write.csv(v, "tests/data/veteran.csv", row.names = FALSE, na = "")
  quit()
}
p <- function(...) print(c(...), digits = 15)
lung <- read.csv("tests/data/lung.csv")
lung$sex <- factor(lung$sex)
# stratified log-rank
p(survdiff(Surv(time, status) ~ sex + strata(inst), data = lung)$chisq)
# weighted Cox with cluster-robust variance
f <- coxph(Surv(time, status) ~ age + sex, data = lung, weights = w, cluster = inst)
p(coef(f)); p(sqrt(diag(f$naive.var))); p(sqrt(diag(f$var)))
# weighted Kaplan-Meier: robust (infinitesimal jackknife, the default for non-integer weights), Greenwood, clustered
for (f in list(survfit(Surv(time, status) ~ sex, data = lung, weights = w, conf.type = "log-log"),
               survfit(Surv(time, status) ~ sex, data = lung, weights = w, conf.type = "log-log", robust = FALSE),
               survfit(Surv(time, status) ~ sex, data = lung, weights = w, cluster = inst, conf.type = "log-log"))) {
  s <- summary(f, times = c(100, 300, 500)); print(cbind(s$n.risk, s$surv, s$std.err, s$lower, s$upper), digits = 15)
}
# stratified Cox
f <- coxph(Surv(time, status) ~ age + sex + strata(inst), data = lung)
p(coef(f)); p(sqrt(diag(f$var)))
# proportional hazards: cox.zph (survival 3.x, transform = "km")
z <- cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung))
print(z$table, digits = 15); print(head(cbind(z$time, z$x, z$y), 3), digits = 10)
veteran <- read.csv("tests/data/veteran.csv")
veteran$trt <- factor(veteran$trt)
print(cox.zph(coxph(Surv(time, status) ~ trt + karno + celltype, data = veteran))$table, digits = 15)
# restricted mean survival time per arm
f <- survfit(Surv(time, status) ~ trt, data = veteran)
print(summary(f, rmean = 100)$table[, c("rmean", "se(rmean)")], digits = 15)
print(summary(f, rmean = 500)$table[, c("rmean", "se(rmean)")], digits = 15)
# the default cohort's matched-data analyses, proportional-hazards tests and RMST (after `make analysis`):
#   Rscript tests/r/robustness_reference.R default build/results
if (length(args) && args[1] == "default") {
  a <- read.csv(file.path(args[2], "analysis_cohort.csv"), colClasses = c(patient_id = "character"))
  m <- read.csv(file.path(args[2], "matched_cohort.csv"), colClasses = c(patient_id = "character"))
  d <- merge(a, m[m$matched == 1, c("patient_id", "match_id", "weights")], by = "patient_id")
  a$arm <- factor(a$arm, levels = c("SBRT", "SBRT+TACE")); d$arm <- factor(d$arm, levels = levels(a$arm))
  for (ep in c("os", "pfs")) {
    for (x in list(a, d)) { x$time <- x[[paste0(ep, "_months")]]; x$status <- x[[paste0(ep, "_event")]]
      print(cox.zph(coxph(Surv(time, status) ~ arm, data = x))$table, digits = 15)
      print(summary(survfit(Surv(time, status) ~ arm, data = x), rmean = 60)$table[, c("rmean", "se(rmean)")],
            digits = 15) }
    d$time <- d[[paste0(ep, "_months")]]; d$status <- d[[paste0(ep, "_event")]]
    p(survdiff(Surv(time, status) ~ arm + strata(match_id), data = d)$chisq)
    print(summary(coxph(Surv(time, status) ~ arm, data = d, weights = weights, cluster = match_id))$coefficients,
          digits = 15)
    print(summary(coxph(Surv(time, status) ~ arm + strata(match_id), data = d))$coefficients, digits = 15)
  }
}
