# Reference run of MatchIt 4.5.1 nearest-neighbour caliper matching, for the
# tests in tests/test_matching.py.
#
# Usage:
#   Rscript tests/r/matchit_nearest.R DIR [RATIO] [CALIPER] [M_ORDER] [ABS]
#
# DIR/data.csv    patient_id, treat (0/1), then one column per covariate (text).
# DIR/levels.csv  variable, level: each covariate's levels, reference first.
# ABS             "c_int" (default): plain matchit() on the glm linear logit.
#                 "exact": the same matching with distances compared exactly.
#
# Why ABS: the compiled MatchIt 4.5.1 (Debian r-cran-matchit here; CRAN builds
# too, see github.com/kosukeimai/MatchIt/issues/163 "Caliper not working as
# intended on versions 4.5.1 - 4.5.3") calls C's int abs() on the double
# difference of two distances, so differences are truncated towards zero before
# they are compared with the caliper and with each other. "exact" supplies the
# same linear logit multiplied by K = 2^k as a user distance: scaling by a power
# of two is exact in floating point (so are the SD, the caliper and every
# difference), and the truncation then only loses differences below
# range / 2^30 (about 1e-8 on the logit scale). That is MatchIt's algorithm,
# tie rules included, with a working abs().
#
# Writes
# DIR/matched.csv patient_id, treated, distance (%.17g), matched, match_id
#                 (the treated unit's patient_id of its matched set, empty if unmatched),
#                 weights (m$weights, %.17g: MatchIt's matching weights)
# DIR/coef.csv    term, estimate, std_error   (glm(..., family = binomial))
# DIR/caliper.txt the caliper on the logit scale (MatchIt's m$caliper, / K)
suppressPackageStartupMessages(library(MatchIt))

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
ratio <- if (length(args) >= 2) as.numeric(args[2]) else 2
caliper <- if (length(args) >= 3) as.numeric(args[3]) else 0.02
m_order <- if (length(args) >= 4) args[4] else "largest"
abs_mode <- if (length(args) >= 5) args[5] else "c_int"

d <- read.csv(file.path(dir, "data.csv"), colClasses = "character")
d$treat <- as.integer(d$treat)
lv <- read.csv(file.path(dir, "levels.csv"), colClasses = "character")
covs <- setdiff(names(d), c("patient_id", "treat"))
for (v in covs) d[[v]] <- factor(d[[v]], levels = lv$level[lv$variable == v])
rownames(d) <- d$patient_id

f <- reformulate(covs, response = "treat")
m <- matchit(f, data = d, method = "nearest", distance = "glm",
             link = "linear.logit", ratio = ratio, caliper = caliper,
             std.caliper = TRUE, replace = FALSE, m.order = m_order)
K <- 1
if (abs_mode == "exact") {
  K <- 2^floor(log2(2^30 / diff(range(m$distance))))
  m <- matchit(f, data = d, method = "nearest", distance = m$distance * K,
               ratio = ratio, caliper = caliper, std.caliper = TRUE,
               replace = FALSE, m.order = m_order)
}

mm <- m$match.matrix
match_id <- setNames(rep(NA_character_, nrow(d)), rownames(d))
for (t in rownames(mm)) {
  ctrl <- mm[t, !is.na(mm[t, ])]
  if (length(ctrl) > 0) match_id[c(t, ctrl)] <- t
}
out <- data.frame(patient_id = d$patient_id, treated = d$treat,
                  distance = sprintf("%.17g", m$distance / K),
                  matched = as.integer(m$weights > 0),
                  match_id = match_id[d$patient_id],
                  weights = sprintf("%.17g", m$weights))
write.csv(out, file.path(dir, "matched.csv"), row.names = FALSE, na = "")

g <- glm(f, data = d, family = binomial)
cf <- summary(g)$coefficients
write.csv(data.frame(term = rownames(cf), estimate = sprintf("%.17g", cf[, 1]),
                     std_error = sprintf("%.17g", cf[, 2])),
          file.path(dir, "coef.csv"), row.names = FALSE)
writeLines(sprintf("%.17g", m$caliper / K), file.path(dir, "caliper.txt"))
