/* The GPU instances' root volume performance: used by the fleet (lib/gpu-capacity.ts) and priced by the cost model, with no CDK import so the cost model's tests stay light. */

/**
 * The root volume's provisioned gp3 throughput (MiB/s) and IOPS, beyond the free 125 MiB/s and
 * 3,000 IOPS. Every scale-from-zero goes through this volume: the image pull (~25 GB unpacked),
 * the weights download and their re-hash, and vLLM loading the weights; at the baseline the
 * volume alone holds a cold start for minutes. The extra throughput and IOPS are billed per
 * month prorated to the hours the volume exists, and the volume exists only while its instance
 * does (deleted on termination), so a fleet scaled to zero pays nothing for them: about
 * $0.05 an instance-hour (475 MiB/s × $0.04 + 3,000 IOPS × $0.005 a month), against minutes
 * of a GPU instance's price saved per cold start. 600 MiB/s because the single-GPU xlarge types
 * reach EBS at up to about 5 Gbit/s (≈ 600 MiB/s, as last known from the EC2 instance
 * specifications): a faster volume would be billed for throughput the instance cannot use.
 */
export const ROOT_VOLUME_THROUGHPUT_MIBPS = 600;
/** The free 125 MiB/s and 3,000 IOPS that every gp3 volume has; only what is above is billed. */
export const GP3_BASELINE_MIBPS = 125;
export const GP3_BASELINE_IOPS = 3000;
export const ROOT_VOLUME_IOPS = 6000;
