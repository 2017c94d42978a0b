# Reference values of tests/test_competing.py (R 4.2.2, survival 3.5-3, cmprsk 2.2-11), on R's mgus2 exported once:
#   Rscript tests/r/competing_reference.R export   # writes tests/data/mgus2.csv
#   Rscript tests/r/competing_reference.R          # prints the values the tests quote
# mgus2 (survival): progression to a plasma cell malignancy (pstat) with death as the competing event;
# time = months to progression, or to death or last contact; status 0 = censored, 1 = progression, 2 = death.
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) && args[1] == "export") {
  m <- survival::mgus2
  out <- data.frame(sex = m$sex, age = m$age, time = ifelse(m$pstat == 0, m$futime, m$ptime),
                    status = ifelse(m$pstat == 0, 2 * m$death, 1))
  write.csv(out, "tests/data/mgus2.csv", row.names = FALSE)
  quit()
}
# live cross-check on data written by tests/test_competing.py (pytest --run-r, `make crosscheck`):
#   Rscript tests/r/competing_reference.R crosscheck input.csv out_dir
if (length(args) && args[1] == "crosscheck") {
  x <- read.csv(args[2]); x$arm <- factor(x$arm, levels = c("SBRT", "SBRT+TACE"))
  f <- survfit(Surv(time, factor(status, 0:2, c("censor", "lf", "death"))) ~ arm, data = x)
  arm <- rep(sub("arm=", "", names(f$strata)), f$strata)
  write.csv(data.frame(arm = arm, time = f$time, cif = f$pstate[, 2], se = f$std.err[, 2],
                       cif_competing = f$pstate[, 3], se_competing = f$std.err[, 3]),
            file.path(args[3], "cif.csv"), row.names = FALSE)
  g <- cuminc(x$time, x$status, x$arm)$Tests
  cr <- crr(x$time, x$status, cov1 = as.numeric(x$arm == "SBRT+TACE"))
  write.csv(data.frame(gray_lf = g[1, "stat"], gray_death = g[2, "stat"], coef = cr$coef, se = sqrt(cr$var[1, 1])),
            file.path(args[3], "tests.csv"), row.names = FALSE)
  quit()
}
d <- read.csv("tests/data/mgus2.csv")
d$sex <- factor(d$sex, levels = c("F", "M"))
print(table(d$sex, d$status))
# Aalen-Johansen cumulative incidence per sex
fit <- survfit(Surv(time, factor(status, 0:2, c("censor", "pcm", "death"))) ~ sex, data = d)
s <- summary(fit, times = c(60, 120, 240, 360))
print(cbind(time = s$time, pcm = s$pstate[, 2], se_pcm = s$std.err[, 2], death = s$pstate[, 3],
            se_death = s$std.err[, 3]), digits = 15)
print(cbind(lower = s$lower[, 2], upper = s$upper[, 2]), digits = 15)   # conf.type = "log" (the default)
# Gray's test
g <- cuminc(d$time, d$status, d$sex)
print(g$Tests, digits = 15)
# Fine-Gray subdistribution hazard ratio, M vs F
f <- crr(d$time, d$status, cov1 = as.numeric(d$sex == "M"))
se <- sqrt(diag(f$var))
print(c(coef = f$coef, se = se, p = 2 * pnorm(-abs(f$coef / se)), converged = f$converged), digits = 15)
print(summary(f)$conf.int, digits = 15)
# two covariates, and Gray's test across three age groups
f <- crr(d$time, d$status, cov1 = cbind(male = as.numeric(d$sex == "M"), age = d$age))
print(f$coef, digits = 15); print(f$var, digits = 15)
d$age_group <- cut(d$age, c(0, 60, 75, Inf), right = FALSE)
print(cuminc(d$time, d$status, d$age_group)$Tests, digits = 15)
# 1 - KM of progression with deaths censored
k <- summary(survfit(Surv(time, status == 1) ~ sex, data = d), times = c(60, 120, 240, 360))
print(cbind(time = k$time, one_minus_km = 1 - k$surv), digits = 15)
