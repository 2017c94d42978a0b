# Cross-check of helpers/stats/survival.py on random data (tests/test_survival.py, --run-r).
# Usage: Rscript tests/r/survival_crosscheck.R input.csv outdir
# input.csv: time, status, arm, cp, ecog, age (age may be NA).
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(arm = "character", cp = "character", ecog = "character"))
out <- args[2]
d$arm <- factor(d$arm, levels = c("SBRT", "SBRT+TACE"))
d$cp <- factor(d$cp, levels = c("A", "B"))
d$ecog <- factor(d$ecog, levels = c("0", "1", "2"))
save <- function(x, name) write.csv(x, file.path(out, name), row.names = FALSE)
times <- c(6, 12, 24, 36, 60, 1000)

km <- rates <- med <- list()
for (type in c("log-log", "log")) {
  for (a in levels(d$arm)) {
    f <- survfit(Surv(time, status) ~ 1, data = d[d$arm == a, ], conf.type = type)
    km[[length(km) + 1]] <- data.frame(conf_type = type, arm = a, time = f$time, n_at_risk = f$n.risk,
      n_event = f$n.event, n_censor = f$n.censor, survival = f$surv, std_err = f$std.err * f$surv,
      ci_lower = f$lower, ci_upper = f$upper)
    s <- summary(f, times = times)
    rates[[length(rates) + 1]] <- data.frame(conf_type = type, arm = a, months = s$time, n_at_risk = s$n.risk,
      survival = s$surv, std_err = s$std.err, ci_lower = s$lower, ci_upper = s$upper)
    q <- quantile(f, 0.5)
    med[[length(med) + 1]] <- data.frame(conf_type = type, arm = a, median = unname(q$quantile),
      ci_lower = unname(q$lower), ci_upper = unname(q$upper))
  }
  q <- quantile(survfit(Surv(time, 1 - status) ~ 1, data = d, conf.type = type), 0.5)
  med[[length(med) + 1]] <- data.frame(conf_type = type, arm = "reverse", median = unname(q$quantile),
    ci_lower = unname(q$lower), ci_upper = unname(q$upper))
}
save(do.call(rbind, km), "km.csv")
save(do.call(rbind, rates), "rates.csv")
save(do.call(rbind, med), "median.csv")

lr <- function(f, by) {
  s <- survdiff(f, data = d)
  df <- sum(s$exp > 0) - 1
  data.frame(by = by, chi2 = s$chisq, df = df, p_value = pchisq(s$chisq, df, lower.tail = FALSE))
}
save(rbind(lr(Surv(time, status) ~ arm, "arm"), lr(Surv(time, status) ~ ecog, "ecog")), "logrank.csv")

cox <- function(f, model) {
  s <- summary(coxph(f, data = d))
  data.frame(model = model, term = rownames(s$coefficients), coef = s$coefficients[, "coef"],
    se = s$coefficients[, "se(coef)"], hr = s$conf.int[, "exp(coef)"], ci_lower = s$conf.int[, "lower .95"],
    ci_upper = s$conf.int[, "upper .95"], p_value = s$coefficients[, "Pr(>|z|)"], n = s$n, n_events = s$nevent)
}
save(rbind(cox(Surv(time, status) ~ arm, "arm"),
           cox(Surv(time, status) ~ arm + cp + ecog + age, "full")), "cox.csv")
