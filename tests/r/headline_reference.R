# Reference values of the default cohort's headline results, quoted in tests/test_headline.py
# (R 4.2.2, survival 3.5-3). Run on a build of the committed data:
#   make analysis && Rscript tests/r/headline_reference.R build/results
# It reads the pipeline's analysis cohort (endpoints in months) and matched cohort (the `matched` flag of
# helpers.stats.matching, which make crosscheck compares with MatchIt) and prints, per cohort and endpoint,
# survdiff's log-rank test, coxph's treatment hazard ratio and survfit's 12/36/60-month rates per arm.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
results <- if (length(args)) args[1] else "build/results"
analysis <- read.csv(file.path(results, "analysis_cohort.csv"), colClasses = c(patient_id = "character"))
matched <- read.csv(file.path(results, "matched_cohort.csv"), colClasses = c(patient_id = "character"))
analysis$arm <- factor(analysis$arm, levels = c("SBRT", "SBRT+TACE"))
cohorts <- list(before = analysis,
                after = analysis[analysis$patient_id %in% matched$patient_id[matched$matched == 1], ])
endpoints <- list(OS = c("os_months", "os_event"), PFS = c("pfs_months", "pfs_event"), LC = c("lc_months", "lc_event"))
g <- function(x) ifelse(is.na(x), "nan", sprintf("%.15g", x))
for (cohort in names(cohorts)) for (ep in names(endpoints)) {
  d <- cohorts[[cohort]]
  d$time <- d[[endpoints[[ep]][1]]]; d$status <- d[[endpoints[[ep]][2]]]
  lr <- survdiff(Surv(time, status) ~ arm, data = d)
  cat(sprintf("logrank %s %s: chisq %s p %s\n", cohort, ep, g(lr$chisq), g(pchisq(lr$chisq, 1, lower.tail = FALSE))))
  fit <- coxph(Surv(time, status) ~ arm, data = d, ties = "efron")
  s <- summary(fit)
  cat(sprintf("cox %s %s: hr %s lower %s upper %s p %s n %d events %d\n", cohort, ep, g(s$conf.int[1, 1]),
              g(s$conf.int[1, 3]), g(s$conf.int[1, 4]), g(s$coefficients[1, 5]), s$n, s$nevent))
  for (a in levels(d$arm)) {
    km <- summary(survfit(Surv(time, status) ~ 1, data = d[d$arm == a, ], conf.type = "log-log"),
                  times = c(12, 36, 60), extend = TRUE)
    for (i in seq_along(km$time))
      cat(sprintf("km %s %s %s %g: surv %s lower %s upper %s n.risk %d\n", cohort, ep, a, km$time[i], g(km$surv[i]),
                  g(km$lower[i]), g(km$upper[i]), km$n.risk[i]))
  }
}
