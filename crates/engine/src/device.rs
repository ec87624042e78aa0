//! Which compute device the models run on: the choice a person makes, the device it gives, and
//! the fallback to the CPU when `auto` finds a GPU that cannot do the work.

use std::fmt;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::error::{candle_message, Error, Result};

/// Which compute device to use; written "auto", "cpu", "cuda" or "metal".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA or Metal when this build and this machine have one, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    Metal,
}

impl DeviceChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceChoice::Auto => "auto",
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Metal => "metal",
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Read as [`FromStr`](std::str::FromStr) reads it ("gpu" too), with its message for others.
impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<DeviceChoice> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda),
            "metal" => Ok(DeviceChoice::Metal),
            other => Err(Error::Usage(format!(
                "unknown device {other:?}; the devices are auto, cpu, cuda and metal"
            ))),
        }
    }
}

/// The device in use, with a human description ("CPU", "CUDA GPU 0").
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    pub device: Device,
    pub name: String,
    /// Set when the wanted device could not be used and the CPU was taken instead.
    pub warning: Option<String>,
}

impl SelectedDevice {
    fn cpu(warning: Option<String>) -> SelectedDevice {
        SelectedDevice {
            device: Device::Cpu,
            name: "CPU".into(),
            warning,
        }
    }
}

/// The GPU kinds candle can run on, in the order `auto` tries them.
#[derive(Debug, Clone, Copy)]
enum Gpu {
    Cuda,
    Metal,
}

impl Gpu {
    const ALL: [Gpu; 2] = [Gpu::Cuda, Gpu::Metal];

    /// "CUDA", "Metal".
    fn kind(self) -> &'static str {
        match self {
            Gpu::Cuda => "CUDA",
            Gpu::Metal => "Metal",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Gpu::Cuda => "CUDA GPU 0",
            Gpu::Metal => "Metal GPU",
        }
    }

    /// Whether this build has the support compiled in.
    fn built(self) -> bool {
        match self {
            Gpu::Cuda => cfg!(feature = "cuda"),
            Gpu::Metal => cfg!(feature = "metal"),
        }
    }

    /// Starts the GPU: the error is why it cannot be used on this machine.
    fn start(self) -> std::result::Result<SelectedDevice, String> {
        let device = match self {
            Gpu::Cuda => Device::new_cuda(0),
            Gpu::Metal => Device::new_metal(0),
        };
        device
            .map(|device| SelectedDevice {
                device,
                name: self.name().into(),
                warning: None,
            })
            .map_err(|e| candle_message(&e))
    }
}

/// Picks the device for `choice`: an explicit GPU that this build lacks or that does not start
/// is an error; under `Auto`, the first GPU this build supports, or the CPU with a warning when
/// it does not start.
pub fn select_device(choice: DeviceChoice) -> Result<SelectedDevice> {
    let gpu = match choice {
        DeviceChoice::Cpu => return Ok(SelectedDevice::cpu(None)),
        DeviceChoice::Cuda => Gpu::Cuda,
        DeviceChoice::Metal => Gpu::Metal,
        DeviceChoice::Auto => {
            let Some(gpu) = Gpu::ALL.into_iter().find(|g| g.built()) else {
                return Ok(SelectedDevice::cpu(None));
            };
            return Ok(gpu.start().unwrap_or_else(|e| {
                SelectedDevice::cpu(Some(format!(
                    "{} GPU unavailable ({e}); using the CPU",
                    gpu.kind()
                )))
            }));
        }
    };
    if !gpu.built() {
        return Err(Error::Usage(format!(
            "this build has no {} support",
            gpu.kind()
        )));
    }
    gpu.start()
        .map_err(|e| Error::Device(format!("cannot start {}: {e}", gpu.name())))
}

/// Runs `start` (which loads `what`, e.g. "the embedding model") on the device for `choice`.
/// Under `Auto`, a GPU that starts but cannot hold or run the model (memory, libraries) gives
/// way to the CPU, which always works, with a warning. Returns the device actually used.
pub(crate) fn start_on_device<T>(
    choice: DeviceChoice,
    what: &str,
    start: impl Fn(&Device) -> Result<T>,
) -> Result<(T, SelectedDevice)> {
    let selected = select_device(choice)?;
    match start(&selected.device) {
        Ok(started) => Ok((started, selected)),
        Err(e) if choice == DeviceChoice::Auto && !selected.device.is_cpu() => {
            let cpu = SelectedDevice::cpu(Some(format!(
                "{what} could not run on {} ({e}); using the CPU",
                selected.name
            )));
            Ok((start(&cpu.device)?, cpu))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_and_write_as_lowercase_words() {
        for choice in [
            DeviceChoice::Auto,
            DeviceChoice::Cpu,
            DeviceChoice::Cuda,
            DeviceChoice::Metal,
        ] {
            let word = choice.to_string();
            assert_eq!(word.parse::<DeviceChoice>().unwrap(), choice);
            let json = serde_json::to_string(&choice).unwrap();
            assert_eq!(json, format!("\"{word}\""));
            assert_eq!(serde_json::from_str::<DeviceChoice>(&json).unwrap(), choice);
        }
        assert_eq!("GPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda);
        assert_eq!(
            serde_json::from_str::<DeviceChoice>("\"gpu\"").unwrap(),
            DeviceChoice::Cuda
        );
        let err = "tpu".parse::<DeviceChoice>().unwrap_err();
        assert!(matches!(&err, Error::Usage(m) if m.contains("auto, cpu, cuda and metal")));
    }

    #[test]
    fn the_cpu_is_always_there() {
        let cpu = select_device(DeviceChoice::Cpu).unwrap();
        assert!(cpu.device.is_cpu() && cpu.warning.is_none());
        assert_eq!(cpu.name, "CPU");
        if !cfg!(feature = "cuda") {
            let err = select_device(DeviceChoice::Cuda).unwrap_err();
            assert!(matches!(&err, Error::Usage(m) if m == "this build has no CUDA support"));
        }
    }

    #[test]
    fn auto_falls_back_to_the_cpu_only_from_a_gpu() {
        // A model that runs only on the CPU: `auto` ends there whatever GPU this build has.
        let cpu_only = |d: &Device| match d.is_cpu() {
            true => Ok(()),
            false => Err(Error::Device("out of GPU memory".into())),
        };
        let ((), device) = start_on_device(DeviceChoice::Auto, "the model", cpu_only).unwrap();
        assert!(device.device.is_cpu());
        if let Some(warning) = &device.warning {
            assert!(warning.contains("unavailable") || warning.contains("could not run on"));
        }
        // An explicit choice is never second-guessed: its failure is the caller's error.
        let failed = start_on_device(DeviceChoice::Cpu, "the model", |_| -> Result<()> {
            Err(Error::ModelInvalid("broken".into()))
        });
        assert!(matches!(failed, Err(Error::ModelInvalid(_))));
    }
}
