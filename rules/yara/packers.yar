// Executable packers. Packing alone is not malicious, but it hides code from static analysis.

rule Packer_UPX
{
  meta:
    description = "UPX-packed executable"
    severity = 3
    technique = "T1027.002"
  strings:
    $upx0 = "UPX0"
    $upx1 = "UPX1"
    $upx_elf = "UPX!"
    $info = "$Info: This file is packed with the UPX executable packer"
  condition:
    (uint16(0) == 0x5A4D and $upx0 and $upx1) or (uint32(0) == 0x464C457F and ($upx_elf or $info))
}
