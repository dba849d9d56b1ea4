// NAME
//   replay_main - run a fuzz target over its corpus without libFuzzer
// DESCRIPTION
//   Built with the normal compiler beside every fuzz target, so each CI run
//   replays the committed corpus (and any crash reproducer added to it).
//   Arguments are files or folders; folders are read one level deep.
//   Exits non-zero when a path is missing or the corpus is empty, so a
//   mistyped path cannot turn the test into a no-op.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
int run_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  int count = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& entry : std::filesystem::directory_iterator(p)) {
        if (entry.is_regular_file()) {
          count += run_file(entry.path());
        }
      }
    } else if (std::filesystem::is_regular_file(p)) {
      count += run_file(p);
    } else {
      std::fprintf(stderr, "replay: no such file or folder: %s\n", argv[i]);
      return 2;
    }
  }
  if (count == 0) {
    std::fprintf(stderr, "replay: empty corpus\n");
    return 2;
  }
  std::printf("replayed %d inputs\n", count);
  return 0;
}
