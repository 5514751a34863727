#pragma once
// Where a tensor's values live. Every tensor is on the CPU unless it was moved.
#include <string>

namespace gan {

enum class Device { cpu, cuda };

const char* device_name(Device device);
// "cpu" or "cuda"; anything else throws naming `option` ("--device").
Device parse_device(const std::string& name, const std::string& option);

}  // namespace gan
