// Score and grade arithmetic, and the ordering of findings.
#include <gtest/gtest.h>

#include "audit/finding.h"

namespace airlock::audit {
namespace {

Finding Of(Severity s, const std::string& id = "X") { return Finding{id, s, "t", "e", "r", "T0000"}; }

TEST(AuditScoring, PenaltiesPerSeverity) {
  EXPECT_EQ(Score({}), 100);
  EXPECT_EQ(Score({Of(Severity::kCritical)}), 60);
  EXPECT_EQ(Score({Of(Severity::kHigh)}), 80);
  EXPECT_EQ(Score({Of(Severity::kMedium)}), 92);
  EXPECT_EQ(Score({Of(Severity::kLow)}), 97);
  EXPECT_EQ(Score({Of(Severity::kInfo), Of(Severity::kInfo)}), 100);
  EXPECT_EQ(Score({Of(Severity::kHigh), Of(Severity::kMedium), Of(Severity::kLow)}), 69);
}

TEST(AuditScoring, FloorsAtZero) {
  EXPECT_EQ(Score({Of(Severity::kCritical), Of(Severity::kCritical), Of(Severity::kCritical)}), 0);
}

TEST(AuditScoring, GradeBoundaries) {
  EXPECT_EQ(Grade(100), "A");
  EXPECT_EQ(Grade(90), "A");
  EXPECT_EQ(Grade(89), "B");
  EXPECT_EQ(Grade(75), "B");
  EXPECT_EQ(Grade(74), "C");
  EXPECT_EQ(Grade(50), "C");
  EXPECT_EQ(Grade(49), "D");
  EXPECT_EQ(Grade(25), "D");
  EXPECT_EQ(Grade(24), "F");
  EXPECT_EQ(Grade(0), "F");
}

TEST(AuditScoring, FinalizeSortsBySeverityAndGrades) {
  TargetReport r;
  r.findings = {Of(Severity::kLow, "L"), Of(Severity::kCritical, "C"), Of(Severity::kInfo, "I"), Of(Severity::kHigh, "H")};
  Finalize(r);
  ASSERT_EQ(r.findings.size(), 4u);
  EXPECT_EQ(r.findings[0].id, "C");
  EXPECT_EQ(r.findings[1].id, "H");
  EXPECT_EQ(r.findings[2].id, "L");
  EXPECT_EQ(r.findings[3].id, "I");
  EXPECT_EQ(r.score, 37);
  EXPECT_EQ(r.grade, "D");
}

TEST(AuditScoring, SeverityNames) {
  EXPECT_STREQ(SeverityName(Severity::kCritical), "critical");
  EXPECT_STREQ(SeverityName(Severity::kInfo), "info");
}

}  // namespace
}  // namespace airlock::audit
