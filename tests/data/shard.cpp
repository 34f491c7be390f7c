// Tests of include/speedrunner/data/shard.hpp: round trips, and every kind of
// damage a shard can suffer is an error naming the file.
#include <speedrunner/data/shard.hpp>

#include "catch.hpp"
#include "support.hpp"

#include <cstring>
#include <fstream>
#include <numeric>

namespace data = speedrunner::data;
using speedrunner::testing::TempDir;

namespace {

std::vector<std::uint16_t> sample_tokens(std::size_t n) {
  std::vector<std::uint16_t> t(n);
  for (std::size_t i = 0; i < n; ++i) t[i] = std::uint16_t(i % 7 == 0 ? data::end_of_text : (i * 7919) % 50000);
  return t;
}

void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void poke_int32(std::string& bytes, std::size_t index, std::int32_t value) {
  std::memcpy(bytes.data() + index * 4, &value, 4);
}

}  // namespace

TEST_CASE("a written shard reads back token for token", "[data][shard]") {
  TempDir dir;
  const auto path = dir.path() / "x_train_000001.bin";
  const auto tokens = sample_tokens(10'001);
  REQUIRE(data::write_shard(path, tokens));
  CHECK(std::filesystem::file_size(path) == 1024 + 2 * tokens.size());
  CHECK(!std::filesystem::exists(path.string() + ".tmp"));

  auto info = data::read_shard_header(path);
  REQUIRE(info);
  CHECK(info->tokens == tokens.size());
  CHECK(data::read_shard(path).value() == tokens);

  std::vector<std::uint16_t> middle;
  REQUIRE(data::read_shard_tokens(*info, 100, 50, middle));
  CHECK(std::equal(middle.begin(), middle.end(), tokens.begin() + 100));
  CHECK(!data::read_shard_tokens(*info, 10'000, 2, middle));

  auto stats = data::scan_shard(path);
  REQUIRE(stats);
  CHECK(stats->documents == std::size_t(std::count(tokens.begin(), tokens.end(), data::end_of_text)));
}

TEST_CASE("the header is modded-nanogpt's: magic, version, count, zeros, little-endian", "[data][shard]") {
  TempDir dir;
  const auto path = dir.path() / "s.bin";
  const std::vector<std::uint16_t> tokens{50256, 15496, 995};
  REQUIRE(data::write_shard(path, tokens));
  const std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() == 1024 + 6);
  std::int32_t header[256];
  std::memcpy(header, bytes.data(), 1024);
  CHECK(header[0] == 20240520);
  CHECK(header[1] == 1);
  CHECK(header[2] == 3);
  CHECK(std::all_of(header + 3, header + 256, [](std::int32_t v) { return v == 0; }));
  CHECK(std::uint8_t(bytes[1024]) == 0x50);  // 50256 = 0xC450, low byte first
  CHECK(std::uint8_t(bytes[1025]) == 0xC4);
}

TEST_CASE("an empty shard is valid", "[data][shard]") {
  TempDir dir;
  REQUIRE(data::write_shard(dir.path() / "e.bin", {}));
  CHECK(data::read_shard_header(dir.path() / "e.bin").value().tokens == 0);
}

TEST_CASE("damaged shards are errors that name the file and the reason", "[data][shard]") {
  TempDir dir;
  const auto path = dir.path() / "bad.bin";
  REQUIRE(data::write_shard(path, sample_tokens(100)));
  std::string good = read_bytes(path);
  auto error_of = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    auto r = data::read_shard_header(path);
    REQUIRE(!r);
    CHECK(r.error().what.starts_with(path.string() + ": "));
    return r.error().what;
  };
  SECTION("wrong magic") {
    auto b = good;
    poke_int32(b, 0, 12345);
    CHECK(error_of(b).find("magic 12345") != std::string::npos);
  }
  SECTION("wrong version") {
    auto b = good;
    poke_int32(b, 1, 7);
    CHECK(error_of(b).find("version 7") != std::string::npos);
  }
  SECTION("negative count") {
    auto b = good;
    poke_int32(b, 2, -5);
    CHECK(error_of(b).find("negative") != std::string::npos);
  }
  SECTION("truncated tokens") {
    CHECK(error_of(good.substr(0, good.size() - 3)).find("announces 100 tokens") != std::string::npos);
  }
  SECTION("truncated header") {
    CHECK(error_of(good.substr(0, 500)).find("too short") != std::string::npos);
  }
  SECTION("extra bytes") {
    CHECK(error_of(good + "xy").find("but the file has 1226 bytes") != std::string::npos);
  }
  SECTION("missing file") {
    auto r = data::read_shard_header(dir.path() / "none.bin");
    REQUIRE(!r);
    CHECK(r.error().what.find("cannot open") != std::string::npos);
  }
}

TEST_CASE("a token outside the vocabulary is found by a scan and named by position", "[data][shard]") {
  TempDir dir;
  auto tokens = sample_tokens(50);
  tokens[42] = 60000;
  REQUIRE(data::write_shard(dir.path() / "v.bin", tokens));
  REQUIRE(data::read_shard_header(dir.path() / "v.bin"));  // the header alone is fine
  auto stats = data::scan_shard(dir.path() / "v.bin");
  REQUIRE(!stats);
  CHECK(stats.error().what.find("token 42 is 60000") != std::string::npos);
}

TEST_CASE("shard names follow modded-nanogpt and are found by split", "[data][shard]") {
  CHECK(data::shard_file_name("fineweb", data::Split::train, 1) == "fineweb_train_000001.bin");
  CHECK(data::shard_file_name("mini", data::Split::val, 0) == "mini_val_000000.bin");
  TempDir dir;
  for (auto name : {"fineweb_train_000002.bin", "fineweb_train_000001.bin", "fineweb_val_000000.bin",
                    "notes.bin", "fineweb_train_1.bin"})
    REQUIRE(data::write_shard(dir.path() / name, {}));
  write_bytes(dir.path() / "README.txt", "not a shard");
  auto set = data::find_shards(dir.path());
  REQUIRE(set);
  REQUIRE(set->train.size() == 2);
  CHECK(set->train[0].filename() == "fineweb_train_000001.bin");
  CHECK(set->train[1].filename() == "fineweb_train_000002.bin");
  REQUIRE(set->val.size() == 1);
  CHECK(set->unrecognized.size() == 2);
  CHECK(!data::find_shards(dir.path() / "missing"));
}

TEST_CASE("writing into a missing folder fails and leaves nothing behind", "[data][shard]") {
  TempDir dir;
  auto r = data::write_shard(dir.path() / "no" / "such.bin", sample_tokens(3));
  REQUIRE(!r);
  CHECK(r.error().fix.find("folder") != std::string::npos);
}
