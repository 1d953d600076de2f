// The box archive's pure rules (src/box/box_archive.h): which member names and xattrs an import
// accepts, the manifest, and how archived layers meet the importer's trees.
#include <gtest/gtest.h>

#include "box/box_archive.h"

using namespace airlock::box;

namespace {

TEST(BoxArchiveNames, KnownMembersAreAccepted) {
  auto m = ParseMemberName("layers/1/upper/a/b\xff/c/", 2);
  ASSERT_TRUE(m) << m.error().What();
  EXPECT_EQ(m->kind, Member::Kind::kLayerEntry);
  EXPECT_EQ(m->layer, 1u);
  EXPECT_EQ(m->rel, "a/b\xff/c");
  EXPECT_EQ(ParseMemberName("layers/0/upper", 1)->rel, "");
  EXPECT_EQ(ParseMemberName("airlock-box.json", 0)->kind, Member::Kind::kManifest);
  EXPECT_EQ(ParseMemberName("baseline.json", 1)->kind, Member::Kind::kBaseline);
  EXPECT_EQ(LayerMemberName(3, "x/y"), "layers/3/upper/x/y");
}

TEST(BoxArchiveNames, EverythingElseIsRefusedWithTheName) {
  for (const std::string& bad : std::vector<std::string>{"/etc/passwd", "layers/0/upper/../x", "layers/0/upper/a//b", "layers/0/upper/./x", "layers/0/upper/",
                                "layers/00/upper/x", "layers/1/upper/x", "layers/x/upper/a", "layers/0/work/x", "other",
                                "layers/0/upperx", std::string("layers/0/upper/a\0b", 18), "../airlock-box.json", ""}) {
    auto m = ParseMemberName(bad, 1);
    if (bad == "layers/0/upper/") {
      EXPECT_TRUE(m) << "the upper itself, as a directory";
      continue;
    }
    EXPECT_FALSE(m) << bad;
  }
  EXPECT_NE(ParseMemberName("layers/7/upper/x", 1).error().What().find("layer 7 does not exist"), std::string::npos);
  std::string deep = "layers/0/upper";
  for (int i = 0; i < kMaxDepth + 1; ++i) deep += "/d";
  EXPECT_FALSE(ParseMemberName(deep, 1));
}

TEST(BoxArchiveNames, OnlyUserXattrsAndOverlaysOwn) {
  EXPECT_TRUE(XattrAllowed("user.note"));
  EXPECT_TRUE(XattrAllowed("user.overlay.opaque"));
  EXPECT_TRUE(XattrAllowed("user.overlay.whiteouts"));
  for (const char* bad : {"user.overlay.redirect", "user.overlay.origin", "user.overlay.metacopy", "user.airlock.whiteout",
                          "trusted.overlay.opaque", "security.capability", "system.posix_acl_access"}) {
    EXPECT_FALSE(XattrAllowed(bad)) << bad;
  }
}

TEST(BoxArchiveManifest, RoundTripAndRefusals) {
  ArchiveManifest m{"default", {{"/home/a", "/home/sandbox"}, {"/usr", "/usr"}}, "now", "work"};
  auto back = ParseManifest(ManifestToJson(m).dump());
  ASSERT_TRUE(back) << back.error().What();
  EXPECT_EQ(back->trees.size(), 2u);
  EXPECT_EQ(back->trees[0].inside, "/home/sandbox");
  EXPECT_FALSE(ParseManifest("{}"));
  EXPECT_FALSE(ParseManifest("not json"));
  EXPECT_FALSE(ParseManifest(R"({"schema":2,"kind":"airlock-box-export","trees":[{"host":"/a","inside":"/a"}]})"));
  EXPECT_FALSE(ParseManifest(R"({"schema":1,"kind":"airlock-box-export","trees":[{"host":"/a","inside":"rel"}]})"));
}

TEST(BoxArchiveManifest, LayersMeetTreesByInsidePath) {
  std::vector<airlock::box::BoxTree> archived = {{"/h/a", "/data"}, {"/usr", "/usr"}};
  auto map = MatchLayers(archived, {{"/usr", "/usr"}, {"/x", "/home"}, {"/other", "/data"}});
  ASSERT_TRUE(map);
  EXPECT_EQ(*map, (std::vector<int>{1, -1, 0}));
  auto missing = MatchLayers(archived, {{"/usr", "/usr"}});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().What().find("--over PATH:/data"), std::string::npos) << missing.error().What();
  EXPECT_TRUE(SameHostTrees(archived, {{"/usr", "/usr"}, {"/h/a", "/data"}}));
  EXPECT_FALSE(SameHostTrees(archived, {{"/usr", "/usr"}, {"/other", "/data"}}));
}

}  // namespace
