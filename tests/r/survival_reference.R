# Reference values quoted in tests/test_survival.py (R 4.2, survival 3.5-3).
# Run: Rscript tests/r/survival_reference.R
# The data are R's own `aml` and `ovarian` (typed into the test file).
suppressPackageStartupMessages(library(survival))
options(digits = 15, width = 150)
show <- function(label, x) { cat("\n##", label, "\n"); print(x) }

# --- Kaplan-Meier, aml -------------------------------------------------------
m <- subset(aml, x == "Maintained"); nm <- subset(aml, x == "Nonmaintained")
km <- function(d, type) survfit(Surv(time, status) ~ 1, data = d, conf.type = type)
for (type in c("log-log", "log")) {
  for (d in list(m, nm)) {
    f <- km(d, type)
    show(paste("KM", d$x[1], type),
         data.frame(time = f$time, n.risk = f$n.risk, n.event = f$n.event, n.censor = f$n.censor,
                    surv = f$surv, std.err = f$std.err * f$surv, lower = f$lower, upper = f$upper))
  }
}
for (d in list(m, nm)) {
  s <- summary(km(d, "log-log"), times = c(12, 36, 60, 200))
  show(paste("summary times", d$x[1]),
       data.frame(time = s$time, n.risk = s$n.risk, surv = s$surv, std.err = s$std.err, lower = s$lower, upper = s$upper))
  s <- summary(km(d, "log-log"), times = c(12, 36, 60, 200), extend = TRUE)
  show(paste("summary times extend", d$x[1]), data.frame(time = s$time, n.risk = s$n.risk, surv = s$surv))
  show(paste("median log-log", d$x[1]), quantile(km(d, "log-log"), 0.5))
  show(paste("median log", d$x[1]), quantile(km(d, "log"), 0.5))
}
# all-censored curve: log-log limits are NA where S = 1
show("all censored", summary(survfit(Surv(c(2, 4, 6), c(0, 0, 0)) ~ 1, conf.type = "log-log"), times = c(0, 3, 6)))
# curve exactly 0.5 on an interval: median is the midpoint
show("median midpoint", quantile(survfit(Surv(1:4, rep(1, 4)) ~ 1), 0.5))
show("median midpoint, last", quantile(survfit(Surv(c(1, 2, 3, 4), c(1, 1, 0, 0)) ~ 1), 0.5))

# --- Reverse Kaplan-Meier (median follow-up), aml ------------------------------
show("reverse KM log", quantile(survfit(Surv(time, 1 - status) ~ 1, data = aml), 0.5))
show("reverse KM log-log", quantile(survfit(Surv(time, 1 - status) ~ 1, data = aml, conf.type = "log-log"), 0.5))

# --- Log-rank -----------------------------------------------------------------
sd <- survdiff(Surv(time, status) ~ x, data = aml)
show("survdiff aml", c(chisq = sd$chisq, p = pchisq(sd$chisq, 1, lower.tail = FALSE), exp = sd$exp))
ov <- ovarian
ov$agegrp <- cut(ov$age, c(0, 50, 65, Inf), right = FALSE, labels = c("<50", "50-64", ">=65"))
sd3 <- survdiff(Surv(futime, fustat) ~ agegrp, data = ov)
show("survdiff ovarian agegrp (3 groups)", c(chisq = sd3$chisq, p = pchisq(sd3$chisq, 2, lower.tail = FALSE)))
aml0 <- aml; aml0$status[aml0$x == "Maintained"] <- 0
sd0 <- survdiff(Surv(time, status) ~ x, data = aml0)
show("survdiff aml, no events in Maintained", c(chisq = sd0$chisq, p = pchisq(sd0$chisq, 1, lower.tail = FALSE)))

# --- Cox (Efron) ----------------------------------------------------------------
cox_table <- function(fit) {
  s <- summary(fit)
  data.frame(coef = s$coefficients[, "coef"], se = s$coefficients[, "se(coef)"],
             hr = s$conf.int[, "exp(coef)"], lower = s$conf.int[, "lower .95"],
             upper = s$conf.int[, "upper .95"], p = s$coefficients[, "Pr(>|z|)"])
}
show("coxph aml (ties)", cox_table(coxph(Surv(time, status) ~ x, data = aml)))
show("coxph aml breslow", coef(coxph(Surv(time, status) ~ x, data = aml, ties = "breslow")))
ov$rx <- factor(ifelse(ov$rx == 1, "A", "B"))
ov$ecog <- factor(ov$ecog.ps)
f_ov <- coxph(Surv(futime, fustat) ~ age + rx + ecog, data = ov)
show("coxph ovarian age + rx + ecog", cox_table(f_ov))
show("coxph ovarian loglik", f_ov$loglik)
ov$months <- floor(ov$futime / 30.4375)   # ties
show("tied months", table(ov$months[ov$fustat == 1]))
ov$age60 <- cut(ov$age, c(0, 50, 60, Inf), right = FALSE, labels = c("<50", "50-59", ">=60"))
f_ovm <- coxph(Surv(months, fustat) ~ age60 + rx, data = ov)
show("coxph ovarian months ~ age60 + rx", cox_table(f_ovm))
show("coxph ovarian months ~ age60 + rx, loglik", f_ovm$loglik)
# all five patients aged >= 65 died: separation for agegrp>=65
show("coxph ovarian months ~ agegrp + rx (warning)",
     withCallingHandlers(cox_table(coxph(Surv(months, fustat) ~ agegrp + rx, data = ov)),
                         warning = function(w) {cat("Warning:", conditionMessage(w), "\n"); invokeRestart("muffleWarning")}))
show("coxph aml, no events in Maintained (warning)", tryCatch(coxph(Surv(time, status) ~ x, data = aml0),
     warning = function(w) conditionMessage(w)))

# --- Univariate screening on the tied-months ovarian data -----------------------
for (v in c("rx", "age60", "ecog")) {
  show(paste("univariate coxph months ~", v),
       cox_table(coxph(as.formula(paste("Surv(months, fustat) ~", v)), data = ov)))
}
