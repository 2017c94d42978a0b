# MatchIt 4.5.1 on given distances, timed: the benchmark's reference (python -m benchmarks.run).
#
# Usage: Rscript benchmarks/matchit.R DIR RATIO CALIPER M_ORDER
#
# DIR/distance.csv  patient_id, treat (0/1), distance: the project's logit of the propensity
#                   score times K = 2^k (exact in floating point), so that the integer abs()
#                   of the Debian and CRAN 4.5.1 builds (github.com/kosukeimai/MatchIt/issues/163)
#                   truncates only differences below 2^-k logit (see tests/r/matchit_nearest.R).
# Writes DIR/matchit.csv  patient_id, match_id (the treated patient of its matched set, empty if none)
#        DIR/seconds.txt  elapsed seconds of the matchit() call alone (not reading or writing)
suppressPackageStartupMessages(library(MatchIt))

args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
ratio <- as.numeric(args[2])
caliper <- as.numeric(args[3])
m_order <- args[4]

d <- read.csv(file.path(dir, "distance.csv"), colClasses = c("character", "integer", "numeric"))
rownames(d) <- d$patient_id
d$x <- seq_len(nrow(d))
seconds <- system.time(
  m <- matchit(treat ~ x, data = d, method = "nearest", distance = d$distance, ratio = ratio,
               caliper = caliper, std.caliper = TRUE, replace = FALSE, m.order = m_order)
)[["elapsed"]]

mm <- m$match.matrix
match_id <- setNames(rep(NA_character_, nrow(d)), rownames(d))
rows <- rownames(mm)[rowSums(!is.na(mm)) > 0]
for (j in seq_len(ncol(mm))) {
  has <- !is.na(mm[rows, j])
  match_id[mm[rows, j][has]] <- rows[has]
}
match_id[rows] <- rows
write.csv(data.frame(patient_id = d$patient_id, match_id = match_id[d$patient_id]),
          file.path(dir, "matchit.csv"), row.names = FALSE, na = "")
writeLines(sprintf("%.3f", seconds), file.path(dir, "seconds.txt"))
