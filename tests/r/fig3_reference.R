# Reference values of the default cohort's Figure 3 models, quoted in tests/test_synthetic.py
# (R 4.2.2, survival 3.5-3). Run on a build of the committed data:
#   make analysis && Rscript tests/r/fig3_reference.R build/results
# The multivariable models are those notebook 03 selects (the arm plus every covariate with univariate p < 0.1,
# as results/cox.csv lists them); the univariate ones are the terms the paper's Figure 3 pattern names.
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
results <- if (length(args)) args[1] else "build/results"
a <- read.csv(file.path(results, "analysis_cohort.csv"), colClasses = c(patient_id = "character", ecog_group = "character"))
m <- read.csv(file.path(results, "matched_cohort.csv"), colClasses = c(patient_id = "character"))
lev <- list(arm = c("SBRT", "SBRT+TACE"), sex_group = c("Female", "Male"), age_group = c("<60", ">=60"),
            hepatitis_type = c("HBV", "HCV"), child_pugh_class = c("A", "B"), platelets_group = c("<100", ">=100"),
            pvtt_group = c("Without", "With"))
for (v in names(lev)) a[[v]] <- factor(a[[v]], levels = lev[[v]])
cohorts <- list(before = a, after = a[a$patient_id %in% m$patient_id[m$matched == 1], ])
models <- list(
  c("before", "os", "arm + sex_group + hepatitis_type + child_pugh_class + platelets_group + pvtt_group"),
  c("before", "pfs", "arm + sex_group + child_pugh_class + platelets_group + pvtt_group"),
  c("before", "lc", "arm + hepatitis_type"),
  c("after", "os", "arm + age_group + child_pugh_class + pvtt_group"),
  c("after", "pfs", "arm + sex_group + child_pugh_class + platelets_group"),
  c("before", "os", "child_pugh_class"), c("before", "pfs", "platelets_group"), c("before", "lc", "hepatitis_type"),
  c("after", "os", "child_pugh_class"), c("after", "pfs", "platelets_group"), c("after", "pfs", "sex_group"))
for (x in models) {
  d <- cohorts[[x[1]]]
  f <- as.formula(sprintf("Surv(%s_months, %s_event) ~ %s", x[2], x[2], x[3]))
  s <- summary(coxph(f, data = d, ties = "efron"))
  for (i in seq_len(nrow(s$coefficients)))
    cat(sprintf("%s %s [%s] %s: hr %.15g p %.15g\n", x[1], x[2], x[3], rownames(s$coefficients)[i],
                s$conf.int[i, 1], s$coefficients[i, 5]))
}
